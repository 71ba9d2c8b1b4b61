"""The desktop app (PySide6): windows, dialogs and Qt models over the caseview services.

The only package that imports PySide6. Start it with ``caseview gui`` (``ui.app.run_gui``).
"""
