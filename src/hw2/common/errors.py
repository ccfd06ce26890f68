"""The one exception type for bad input: stages print its message as one line and exit 1."""


class InputError(Exception):
    """Bad input a user can fix: the message names the file and the problem."""
