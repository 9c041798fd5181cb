"""Streamlit glue shared by the pages: session state, the process-wide job runner, and error display.

Library work stays in `textclf`; this package only knows about Streamlit sessions and widgets.
"""
