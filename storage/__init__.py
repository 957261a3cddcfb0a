"""The CRM store: models, engine and sessions, migrations, and data functions.

Data functions take a ``session`` first and never commit; the caller owns the transaction
(one per request, one per sync page).
"""
