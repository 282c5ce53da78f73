"""Signing in to the dashboard: passwords stored as scrypt hashes only, roles (a manager
sees its own store, 403 elsewhere; a chain admin sees every store and the chain), CSRF on
every form, wrong passwords rate-limited (429, even for the right one afterwards), sessions
that end (absolute and idle limits, sign-out) and cookies a script cannot read."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
from starlette.testclient import TestClient

from kiosk.backoffice.web import accounts
from kiosk.backoffice.web.passwords import WeakPassword, hash_password, verify_password
from tests.backoffice.web.conftest import PASSWORD
from tests.backoffice.web.shop import DAY

Q = f"?day={DAY.isoformat()}"


def test_passwords_are_scrypt_hashes_that_verify_only_the_right_password(shop):
    stored = hash_password("a long enough secret")
    assert stored.startswith("scrypt$") and "secret" not in stored
    assert verify_password("a long enough secret", stored)
    assert not verify_password("a long enough secreT", stored)
    assert not verify_password("x", "not a hash")
    assert hash_password("a long enough secret") != stored  # salted
    try:
        hash_password("short")
        raise AssertionError("a short password was taken")
    except WeakPassword:
        pass
    with psycopg.connect(shop.url) as conn:
        rows = conn.execute("SELECT password FROM web_users").fetchall()
    assert rows and all(r[0].startswith("scrypt$") and PASSWORD not in r[0] for r in rows)


def test_roles_decide_what_each_user_sees(shop):
    answer = shop.sign_in(shop.http, "mgr1")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    home = shop.http.get("/dash/", follow_redirects=False)
    assert home.headers["location"].startswith("/dash/store/S001/today")
    assert shop.http.get("/dash/store/S001/today" + Q).status_code == 200
    for path in ("/dash/store/S002/today", "/dash/store/S002/items.csv", "/dash/chain/today",
                 "/dash/chain/sales.csv"):
        answer = shop.http.get(path + Q + "&table=by_day")
        assert answer.status_code == 403, path
        assert "S002" not in answer.text and "Mastercard" not in answer.text
    with TestClient(shop.http.app) as admin:
        assert shop.sign_in(admin, "admin").status_code == 303
        assert admin.get("/dash/", follow_redirects=False).headers["location"].startswith(
            "/dash/chain/today")
        for path in ("/dash/store/S001/today", "/dash/store/S002/sales", "/dash/chain/items"):
            assert admin.get(path + Q).status_code == 200, path
        assert admin.get("/dash/store/S404/today" + Q).status_code == 404
        for bad in ("0001-01-01", "2026-13-01", "yesterday"):  # a clear 400, not a 500
            assert admin.get(f"/dash/chain/sales?day={bad}").status_code == 400, bad
        assert admin.get("/dash/chain/nothing" + Q).status_code == 404
        assert admin.get("/dash/chain/today.csv" + Q + "&table=nope").status_code == 404


def test_pages_need_a_session(shop):
    for path in ("/dash/chain/today", "/dash/store/S001/items.csv", "/dash/"):
        answer = shop.http.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith(
            "/dash/login"), path
    forged = shop.http.get("/dash/chain/today", cookies={"kb_session": "guessed"},
                           follow_redirects=False)
    assert forged.status_code == 303


def test_the_login_page_speaks_the_browsers_language(shop):
    for header, lang in (("ko-KR,ko;q=0.9,en;q=0.8", "ko"), ("zh-CN,zh;q=0.9", "zh-Hans"),
                         ("de-DE,de;q=0.9", "en")):
        page = shop.http.get("/dash/login", headers={"Accept-Language": header}).text
        assert f'<html lang="{lang}">' in page, header
    page = shop.http.get("/dash/login?lang=en", headers={"Accept-Language": "ko"}).text
    assert '<html lang="en">' in page  # a language picked on the page wins


def test_forms_without_their_csrf_token_are_refused(shop):
    shop.http.get("/dash/login")
    answer = shop.http.post("/dash/login", data={"csrf": "wrong", "username": "mgr1",
                                                 "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 403 and "kb_session" not in answer.headers.get("set-cookie", "")
    answer = shop.http.post("/dash/login", data={"csrf": shop.http.cookies["kb_csrf"],
                                                 "username": "mgr1", "password": PASSWORD},
                            headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert answer.status_code == 403
    assert shop.sign_in(shop.http, "mgr1").status_code == 303
    assert shop.http.post("/dash/logout", data={"csrf": "wrong"}).status_code == 403
    assert shop.http.get("/dash/store/S001/today" + Q).status_code == 200  # still signed in
    page = shop.http.get("/dash/store/S001/today" + Q).text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    answer = shop.http.post("/dash/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert shop.http.get("/dash/store/S001/today" + Q,
                         follow_redirects=False).status_code == 303


def test_wrong_passwords_are_rate_limited(shop):
    for _ in range(accounts.MAX_FAILURES):
        assert shop.sign_in(shop.http, "mgr2", "not the password").status_code == 401
    # the limit holds even for the right password: the guesser learns nothing
    assert shop.sign_in(shop.http, "mgr2").status_code == 429
    assert shop.sign_in(shop.http, "nobody-at-all").status_code == 429  # same client address
    with psycopg.connect(shop.url) as conn:  # the window passes
        conn.execute("UPDATE web_login_failures SET at = at - make_interval(secs => %s)",
                     (accounts.WINDOW_S + 1,))
    assert shop.sign_in(shop.http, "mgr2").status_code == 303
    with psycopg.connect(shop.url) as conn:  # names and addresses not kept past the window
        assert conn.execute("SELECT count(*) FROM web_login_failures").fetchone()[0] == 0


def test_sessions_expire(shop):
    assert shop.sign_in(shop.http, "mgr1").status_code == 303
    page = "/dash/store/S001/today" + Q
    assert shop.http.get(page).status_code == 200
    with psycopg.connect(shop.url) as conn:  # idle too long
        conn.execute("UPDATE web_sessions SET last_seen = now() - make_interval(secs => %s)",
                     (accounts.IDLE_S + 1,))
    assert shop.http.get(page, follow_redirects=False).status_code == 303
    assert shop.sign_in(shop.http, "mgr1").status_code == 303
    with psycopg.connect(shop.url) as conn:  # past its absolute limit, however active
        conn.execute("UPDATE web_sessions SET expires_at = now() - interval '1 second'")
    assert shop.http.get(page, follow_redirects=False).status_code == 303
    assert shop.sign_in(shop.http, "mgr1").status_code == 303
    with psycopg.connect(shop.url) as conn:  # a disabled account's sessions end at once
        conn.execute("UPDATE web_users SET disabled = true WHERE username = 'mgr1'")
    assert shop.http.get(page, follow_redirects=False).status_code == 303


def test_user_add_command(shop, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("another long password\n")
    env = {**os.environ, "KIOSK_BACKOFFICE_DB": shop.url}
    run = [sys.executable, "-m", "kiosk.cli", "backoffice", "user", "add"]
    ok = subprocess.run([*run, "mgr3", "--role", "manager", "--store", "S002",
                         "--password-file", str(secret)], capture_output=True, text=True,
                        env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*run, "mgr4", "--role", "manager", "--store", "S999",
                          "--password-file", str(secret)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert bad.returncode == 1 and "no store 'S999'" in bad.stderr
    assert shop.sign_in(shop.http, "mgr3", "another long password").status_code == 303
    assert shop.http.get("/dash/store/S001/today" + Q).status_code == 403
    assert shop.http.get("/dash/store/S002/today" + Q).status_code == 200
