"""Browser tests: a real Chromium (Playwright) against the app served by gunicorn.

The harness lives in tests/browser/conftest.py; every page a test visits is checked with axe-core.
Screenshots go to test-artifacts/screenshots/: of every page with BROWSER_SCREENSHOTS=1, and of
each browser's page when a test fails.
"""
