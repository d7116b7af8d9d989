"""Browser tests: a real Chromium (Playwright) against the app served by gunicorn.

The harness lives in tests/browser/conftest.py; every page a test visits is checked with axe-core
and saved as a screenshot under test-artifacts/screenshots/.
"""
