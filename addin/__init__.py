"""The Outlook add-in: its XML manifest (rendered from configuration and checked offline) and the
icons it references. ``addin.web.init_app(app)`` serves them under ``/addin/``."""
