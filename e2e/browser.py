"""Helpers shared by the browser tests."""

from __future__ import annotations


def browser_sign_in(page, base_url: str, next_path: str = "/") -> None:
    """Sign in as the guest through the real form."""
    page.goto(f"{base_url}/login?next={next_path}")
    page.get_by_role("button", name="Enter as guest").click()
    page.wait_for_url(f"{base_url}{next_path}")


def browser_sign_in_as(page, base_url: str, username: str, password: str, next_path: str = "/") -> None:
    """Sign in as a password user through the real form."""
    page.goto(f"{base_url}/login?next={next_path}")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{next_path}")
