"""JSON request bodies with a size limit (API_MAX_BODY_BYTES): 413 instead of reading on.

DRF's JSONParser reads the raw stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, so the
limit is enforced here: from Content-Length when the client sends it, else while reading.
"""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The module, not its function: codes.api.errors imports DRF's views, whose APIView reads the
# parser classes (this module) as it is defined, so the names in errors may not exist yet.
from codes.api import errors


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        if request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise errors.too_large(limit)
        if stream is None:
            raise ParseError("the request body is empty")
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise errors.too_large(limit)
        try:
            return json.loads(data.decode((parser_context or {}).get("encoding") or "utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise ParseError("the request body is not valid JSON") from None
