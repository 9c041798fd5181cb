"""Streamlit glue shared by the pages: the frame every page is drawn in (`ui.page`: menu, access gate, errors,
sidebar status), session state and the process-wide job runner, and the explanations section.

Library work stays in `textclf`; this package only knows about Streamlit sessions and widgets.
"""
