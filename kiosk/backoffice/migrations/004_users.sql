-- 004: the manager dashboard's accounts (kiosk/backoffice/web/): people who sign in with a
-- password, their role, their browser sessions and the failed sign-ins that rate-limit a
-- guesser. A manager sees one store; a chain admin (store_id NULL) sees every store.

CREATE TABLE web_users (
    id serial PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
    -- scrypt$N$r$p$salt$hash (kiosk/backoffice/web/passwords.py): never the password
    password text NOT NULL CHECK (password LIKE 'scrypt$%'),
    role text NOT NULL CHECK (role IN ('manager', 'chain_admin')),
    store_id int REFERENCES stores (id),
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'manager') = (store_id IS NOT NULL))
);

-- A signed-in browser: only the SHA-256 of its cookie is kept. It ends at expires_at (an
-- absolute limit) or after the idle limit since last_seen (kiosk/backoffice/web/accounts.py).
CREATE TABLE web_sessions (
    id_sha256 text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
    user_id int NOT NULL REFERENCES web_users (id) ON DELETE CASCADE,
    csrf text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Failed sign-ins, by the name tried and by the client address: too many in the window and
-- the next attempt is refused (429) without the password being checked.
CREATE TABLE web_login_failures (
    id bigserial PRIMARY KEY,
    username text NOT NULL,
    client text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_login_failures_user ON web_login_failures (username, at);
CREATE INDEX web_login_failures_client ON web_login_failures (client, at);
