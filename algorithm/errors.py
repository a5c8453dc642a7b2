"""Errors that mean "the input is wrong", as opposed to a bug.

Entry points print these as one line and exit non-zero; anything else is an internal error.
"""


class InputError(Exception):
    """The case cannot be processed as given (bad image, bad clicks, bad layout)."""


class WeightsError(InputError):
    """Model weights are missing, corrupt or do not match the network definition."""
