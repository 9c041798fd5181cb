"""The one error type the user sees.

Everything that goes wrong because of the user's input (a file, a column choice, a setting) raises
`TextclfError` with a message that names the problem and says what to do. The CLI prints it without a
traceback and the dashboard shows it as a message; any other exception is a bug.
"""


class TextclfError(ValueError):
    """A problem with the user's input, explained in words a person can act on."""


class DataError(TextclfError):
    """The data file or its columns cannot be used as they are."""


class BundleError(TextclfError):
    """A model bundle is missing, damaged, or not a textclf bundle."""
