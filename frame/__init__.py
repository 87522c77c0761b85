"""The frame around the pages: the Streamlit glue they share (cached models and probes, drawing, links, the
catalogue of models, the HTML report, the start-up warm-up and its protocol visitor) and the one module that
reaches into Streamlit's internals (streamlit_compat). Imported by app.py and the pages; never a page itself."""
