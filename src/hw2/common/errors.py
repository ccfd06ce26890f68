"""The exceptions for bad input: their message names the file or value and the problem."""


class InputError(Exception):
    """Bad input a user can fix: the message names the file and the problem."""


class StaleInputError(InputError):
    """Input files that do not belong together: made from different runs (a vocabulary and a
    feature file of other images, a decoder of another vocabulary). Making them again fixes it."""
