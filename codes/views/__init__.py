"""The public lookup site: server-rendered HTML pages (the API lives in codes.api).

One module per page family: code (the code page), search, browse (home, chapters, sections),
releases; common holds what they share (the release a request asks for, HTTP caching).
"""
