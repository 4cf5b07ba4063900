"""The only way data gets in: pure parsers for the CMS files and the one loader that writes them."""
