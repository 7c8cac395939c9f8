"""WTForms forms (with Flask-WTF's CSRF token) that validate every input."""
