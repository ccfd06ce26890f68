"""The homework's library: the CNN and its learning-rate sweep, the caption decoders, the
features, the data formats and the report's text.

It knows only the values, arrays and paths handed to it: which file holds what, which setting a
value came from and which step of a workflow makes a file are its callers' business. Bad input
raises :class:`hw2.common.errors.InputError` with a message about the value or the file.
"""
