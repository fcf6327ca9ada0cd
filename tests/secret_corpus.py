"""A corpus of synthetic secret-bearing crash texts, modelled on public secret-scanning formats.

The formats follow the rule sets of gitleaks, detect-secrets and trufflehog (prefixes, lengths
and alphabets); every token body is generated here from a fixed seed, so no case is a real
credential and the file holds none. Each case is a text as a crash carries it (an exception
message, a source line, a thread or task name) and the exact secret that must not leave.
"""

from __future__ import annotations

import random
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
LOWER_HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
PUNCT = "!#$%*+-.:?@^_~"


@dataclass(frozen=True)
class Case:
    """One crash text and the secret inside it; ``carrier`` says where the crash puts the text."""

    id: str
    text: str
    secret: str
    carrier: str = "message"  # message | source | thread-name | task-name | callback-args


class _Gen:
    """Deterministic synthetic secrets: the same id always gives the same bytes."""

    def __init__(self, case_id: str) -> None:
        self._random = random.Random(zlib.crc32(case_id.encode()))

    def __call__(self, alphabet: str, length: int) -> str:
        # at least one digit and one letter, as the formats' real tokens almost always have
        while True:
            text = "".join(self._random.choice(alphabet) for _ in range(length))
            has_digit = any(c.isdigit() for c in text) or not any(c.isdigit() for c in alphabet)
            has_letter = any(c.isalpha() for c in text) or not any(c.isalpha() for c in alphabet)
            if has_digit and has_letter:
                return text

    def password(self, length: int = 14, extra: str = PUNCT) -> str:
        return self(ALNUM + extra, length)


Builder = Callable[[_Gen], tuple[str, str]]
_BUILDERS: list[tuple[str, str, Builder]] = []


def case(case_id: str, carrier: str = "message") -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        _BUILDERS.append((case_id, carrier, builder))
        return builder

    return register


def token(case_id: str, make: Callable[[_Gen], str], template: str) -> None:
    """A bare vendor token inside a message: ``template`` has one ``{}``."""

    def build(gen: _Gen) -> tuple[str, str]:
        secret = make(gen)
        return template.format(secret), secret

    _BUILDERS.append((case_id, "message", build))


# --- vendor tokens, bare, where a message puts them ------------------------------------------

token("aws-akia", lambda g: "AKIA" + g(UPPER, 16), "InvalidClientTokenId: key {} is not valid")
token("aws-asia", lambda g: "ASIA" + g(UPPER, 16), "ExpiredToken for {} (session)")
token("aws-aroa", lambda g: "AROA" + g(UPPER, 16), "role id {} not found")
token("aws-aida", lambda g: "AIDA" + g(UPPER, 16), "user {} denied")
token("github-ghp", lambda g: "ghp_" + g(ALNUM, 36), "git clone failed with {}")
token("github-gho", lambda g: "gho_" + g(ALNUM, 36), "oauth token {} revoked")
token("github-ghu", lambda g: "ghu_" + g(ALNUM, 36), "user-to-server {} expired")
token("github-ghs", lambda g: "ghs_" + g(ALNUM, 36), "installation token {} rejected")
token("github-ghr", lambda g: "ghr_" + g(ALNUM, 36), "refresh {} unusable")
token(
    "github-pat", lambda g: "github_pat_" + g(ALNUM, 22) + "_" + g(ALNUM, 59), "PAT {} lacks scope"
)
token("gitlab-glpat", lambda g: "glpat-" + g(B64URL, 20), "401 from gitlab with {}")
token("gitlab-gldt", lambda g: "gldt-" + g(B64URL, 20), "deploy token {} refused")
token("gitlab-glrt", lambda g: "glrt-" + g(B64URL, 20), "runner token {} unknown")
token("slack-xoxb", lambda g: f"xoxb-{g(string.digits, 12)}-{g(ALNUM, 24)}", "invalid_auth: {}")
token("slack-xoxp", lambda g: f"xoxp-{g(string.digits, 12)}-{g(ALNUM, 32)}", "user token {}")
token("slack-xapp", lambda g: f"xapp-1-{g(UPPER, 11)}-{g(LOWER_HEX, 64)}", "socket mode {} bad")
token(
    "slack-webhook",
    lambda g: f"T{g(UPPER, 10)}/B{g(UPPER, 10)}/{g(ALNUM, 24)}",
    "POST https://hooks.slack.com/services/{} returned 404",
)
token("stripe-sk-live", lambda g: "sk_live_" + g(ALNUM, 24), "No such customer (key {})")
token("stripe-rk-live", lambda g: "rk_live_" + g(ALNUM, 24), "restricted key {} lacks access")
token("stripe-sk-test", lambda g: "sk_test_" + g(ALNUM, 24), "stripe.error.AuthenticationError: {}")
token("stripe-whsec", lambda g: "whsec_" + g(ALNUM, 32), "signature mismatch for {}")
token("openai-proj", lambda g: "sk-proj-" + g(B64URL, 48), "Incorrect API key provided: {}")
token("openai-svcacct", lambda g: "sk-svcacct-" + g(B64URL, 48), "key {} deactivated")
token("openai-legacy", lambda g: "sk-" + g(ALNUM, 48), "openai.AuthenticationError: {}")
token("anthropic-api", lambda g: "sk-ant-api03-" + g(B64URL, 93) + "AA", "invalid x-api-key {}")
token("anthropic-admin", lambda g: "sk-ant-admin01-" + g(B64URL, 93) + "AA", "admin key {} denied")
token("google-api-key", lambda g: "AIza" + g(B64URL, 35), "API key not valid: {}")
token("google-oauth", lambda g: "ya29." + g(B64URL, 60), "invalid_grant for {}")
token("google-client-secret", lambda g: "GOCSPX-" + g(B64URL, 28), "client {} disabled")
token(
    "sendgrid",
    lambda g: f"SG.{g(B64URL, 22)}.{g(B64URL, 43)}",
    "sendgrid 401: The provided authorization grant {} is invalid",
)
token("npm", lambda g: "npm_" + g(ALNUM, 36), "npm ERR! 401 for {}")
token("pypi", lambda g: "pypi-AgEIcHlwaS5vcmc" + g(B64URL, 70), "upload refused with {}")
token(
    "jwt",
    lambda g: f"eyJhbGciOiJIUzI1NiJ9.eyJ{g(B64URL, 40)}.{g(B64URL, 43)}",
    "signature verification failed for {}",
)
token("huggingface", lambda g: "hf_" + g(ALNUM, 34), "401 Client Error for {}")
token("digitalocean", lambda g: "dop_v1_" + g(LOWER_HEX, 64), "droplet API refused {}")
token("shopify", lambda g: "shpat_" + g(LOWER_HEX, 32), "shop API said {} is invalid")
token("databricks", lambda g: "dapi" + g(LOWER_HEX, 32), "workspace rejected {}")
token("vault", lambda g: "hvs." + g(B64URL, 90), "permission denied for {}")
token("grafana-sa", lambda g: "glsa_" + g(ALNUM, 32) + "_" + g(LOWER_HEX, 8), "grafana: {} bad")
token("atlassian", lambda g: "ATATT3xFfGF0" + g(B64URL, 180), "jira said {} unauthorized")
token("postman", lambda g: f"PMAK-{g(LOWER_HEX, 24)}-{g(LOWER_HEX, 34)}", "postman key {}")
token("newrelic", lambda g: "NRAK-" + g(UPPER, 27), "new relic key {} rejected")
token("sentry-org", lambda g: "sntrys_" + g(B64, 80), "sentry auth {} invalid")
token("linear", lambda g: "lin_api_" + g(ALNUM, 40), "linear: {} is not valid")
token("doppler", lambda g: "dp.pt." + g(ALNUM, 43), "doppler token {} revoked")
token("age", lambda g: "AGE-SECRET-KEY-1" + g(UPPER, 58), "age: no identity matched {}")
token("mailgun", lambda g: "key-" + g(LOWER_HEX, 32), "mailgun 401 with {}")
token("twilio", lambda g: "SK" + g(LOWER_HEX, 32), "twilio api key {} unknown")
token(
    "discord-webhook",
    lambda g: f"{g(string.digits, 18)}/{g(B64URL, 68)}",
    "POST https://discord.com/api/webhooks/{} failed",
)
token(
    "teams-webhook",
    lambda g: (
        f"{g(LOWER_HEX, 8)}-{g(LOWER_HEX, 4)}@{g(LOWER_HEX, 8)}/IncomingWebhook/{g(ALNUM, 32)}"
    ),
    "POST https://contoso.webhook.office.com/webhookb2/{} returned 400",
)
token(
    "google-chat-webhook",
    lambda g: f"key={g(B64URL, 39)}&token={g(B64URL, 43)}",
    "POST https://chat.googleapis.com/v1/spaces/AAAA1234/messages?{} failed",
)
token("square", lambda g: "sq0atp-" + g(B64URL, 22), "square: {} unauthorized")
token("figma", lambda g: "figd_" + g(B64URL, 40), "figma: {} invalid")
token("notion", lambda g: "ntn_" + g(ALNUM, 46), "notion: {} is not a valid token")
token("pulumi", lambda g: "pul-" + g(LOWER_HEX, 40), "pulumi login with {} failed")
token("heroku", lambda g: "HRKU-" + g(B64URL, 60), "heroku: {} invalid")
token(
    "dynatrace",
    lambda g: f"dt0c01.{g(UPPER, 24)}.{g(UPPER, 64)}",
    "dynatrace rejected {}",
)


def _pem(gen: _Gen, kind: str) -> str:
    body = "\n".join(gen(B64, 64) for _ in range(6))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


token("pem-rsa", lambda g: _pem(g, "RSA PRIVATE KEY"), "could not load key:\n{}\n")
token("pem-ec", lambda g: _pem(g, "EC PRIVATE KEY"), "bad curve in {}")
token("pem-openssh", lambda g: _pem(g, "OPENSSH PRIVATE KEY"), "ssh: no key found in {}")
token("pem-pkcs8", lambda g: _pem(g, "PRIVATE KEY"), "load_pem_private_key failed: {}")
token("pem-encrypted", lambda g: _pem(g, "ENCRYPTED PRIVATE KEY"), "wrong passphrase for {}")


@case("pem-in-json")
def _(g: _Gen) -> tuple[str, str]:
    body = "\\n".join(g(B64, 64) for _ in range(4))
    secret = f"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n"
    return f'bad service account: {{"type": "service_account", "private_key": "{secret}"}}', secret


# --- key = value, as messages and reprs carry them ---------------------------------------------


def keyed(case_id: str, template: str, make: Callable[[_Gen], str] | None = None) -> None:
    """``template`` with one ``{}`` where the secret goes (a password unless ``make`` says)."""

    def build(gen: _Gen) -> tuple[str, str]:
        secret = make(gen) if make is not None else gen.password()
        return template.format(secret), secret

    _BUILDERS.append((case_id, "message", build))


def _plain(g: _Gen) -> str:
    return g(ALNUM, 16)


keyed("password-eq", "login failed for bob: password={}", _plain)
keyed("password-colon-quoted", "config error: password: '{}'")
keyed("password-dict-repr", "bad settings {{'user': 'bob', 'password': '{}', 'port': 5432}}")
keyed("password-bytes", "handshake failed {{'user': b'bob', 'password': b'{}'}}")
keyed("password-json", 'invalid body {{"username": "bob", "password": "{}"}}')
keyed(
    "password-spaces",
    "auth failed with password='{}' for bob",
    lambda g: f"{g(ALNUM, 6)} {g(ALNUM, 6)} {g(ALNUM, 4)}",
)
keyed(
    "password-comma-semicolon",
    'connect failed: password="{}"',
    lambda g: f"{g(ALNUM, 5)},{g(ALNUM, 5)};{g(ALNUM, 5)}&{g(ALNUM, 3)}",
)
keyed(
    "password-escaped-quote",
    'payload {{"password": "{}"}} rejected',
    lambda g: f'{g(ALNUM, 6)}\\"{g(ALNUM, 8)}',
)
keyed(
    "password-escaped-json",
    'body was "{{\\"user\\": \\"bob\\", \\"password\\": \\"{}\\"}}"',
    _plain,
)
keyed("password-annotation", "class Settings: password: str = '{}' is invalid")
keyed("password-annotation-optional", 'field password: Optional[str] = "{}" rejected')
keyed("passwd", "useradd: passwd={} too weak", _plain)
keyed("pwd", "odbc: UID=sa;PWD={};Server=db", _plain)
keyed("pwd-braced", "odbc: UID=sa;PWD={{{}}};Server=db", lambda g: f"{g(ALNUM, 6)};{g(ALNUM, 6)}")
keyed("pw", "backup failed: host=db pw={}", _plain)
keyed("db-pass", "DB_PASS={} rejected by server", _plain)
keyed("redis-pass", "REDIS_PASS: {} does not authenticate", _plain)
keyed("mysql-root-password", "MYSQL_ROOT_PASSWORD={} is too short", _plain)
keyed("pgpassword", "env PGPASSWORD={} psql failed", _plain)
keyed("passphrase", "unlock failed, passphrase={}", _plain)
keyed("secret", "secret={} does not decrypt", _plain)
keyed("client-secret", "oauth: client_id=app client_secret={} invalid_client", _plain)
keyed("secret-key", "Django SECRET_KEY = '{}' too short", lambda g: g.password(50))
keyed("aws-secret-access-key", "aws_secret_access_key = {}", lambda g: g(B64, 40))
keyed("api-key", "api_key={} rejected", _plain)
keyed("apikey", "apikey: {} unknown", _plain)
keyed("x-api-key-header", "request headers: X-Api-Key: {}", _plain)
keyed("stripe-key-env", "STRIPE_KEY={} invalid", _plain)
keyed(
    "key-query",
    "GET https://maps.example.com/geocode?address=x&key={} 403",
    lambda g: "AIza" + g(B64URL, 35),
)
keyed("encryption-key", "decrypt failed: encryption_key={}", lambda g: g(B64, 44))
keyed("master-key", "meili: master_key={} refused", _plain)
keyed("private-key-var", "PRIVATE_KEY={} could not be parsed", lambda g: g(B64, 64))
keyed("private-key-camel", "bad wallet {{privateKey: '{}'}}", lambda g: "0x" + g(LOWER_HEX, 64))
keyed("access-token", "GET /callback?code=1&access_token={}&state=x failed", _plain)
keyed("refresh-token", "refresh_token: {} expired", _plain)
keyed("auth-token", "X-Auth-Token: {} rejected", _plain)
keyed("id-token", "id_token={} has bad audience", lambda g: g(B64URL, 40))
keyed("token-yaml", "config.yaml: token: {}", _plain)
keyed("csrftoken", "Cookie: csrftoken={}", _plain)
keyed("session-id", "session_id={} unknown", _plain)
keyed("sessionid", "sessionid={} expired", _plain)
keyed("jsessionid", "Set-Cookie: JSESSIONID={}; Path=/", lambda g: g(UPPER, 32))
keyed("sig", "GET /file?exp=1&sig={} 403", lambda g: g(B64URL, 43))
keyed("signature", "webhook signature={} mismatch", lambda g: g(LOWER_HEX, 64))
keyed(
    "amz-signature",
    "GET /obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={} 403",
    lambda g: g(LOWER_HEX, 64),
)
keyed(
    "amz-credential",
    "GET /obj?X-Amz-Credential={}&X-Amz-Date=1 403",
    lambda g: f"{g(UPPER, 20)}/20240101/us-east-1/s3/aws4_request",
)
keyed(
    "azure-account-key",
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={};EndpointSuffix=core.windows.net",
    lambda g: g(B64, 86) + "==",
)
keyed(
    "azure-shared-access-key",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={}",
    lambda g: g(B64, 43) + "=",
)
keyed(
    "azure-sas",
    "BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig={}",
    lambda g: g(B64URL, 43),
)
keyed("kubeconfig-client-key", "kubeconfig invalid: client-key-data: {}", lambda g: g(B64, 120))
keyed("credentials", "credentials={} not accepted", _plain)
keyed("credential-json", 'bad {{"credential": "{}"}}', _plain)
keyed("auth-eq", "proxy auth={} refused", _plain)
keyed("auth-tuple", "requests.get(url, auth=('bob', '{}')) failed", _plain)
keyed("dict-get", 'os.environ.get("DB_PASSWORD", "{}") was used', _plain)
keyed("subscript-assign", 'cfg["password"] = "{}" is not allowed', _plain)
keyed("environ-assign", 'os.environ["OPENAI_API_KEY"] = "{}" leaked', _plain)
keyed("b64decode", 'PASSWORD = base64.b64decode("{}") failed', lambda g: g(B64, 24))
keyed("header-tuple", "bad header ('x-api-key', '{}')", _plain)
keyed(
    "headers-dict",
    "headers={{'Authorization': 'Bearer {}', 'Accept': '*/*'}}",
    lambda g: g(B64URL, 40),
)
keyed("cookie-third", "Cookie: theme=dark; lang=en; session={}", _plain)
keyed("cookie-second", "Cookie: a=1; remember_me={}; b=2", _plain)
keyed("set-cookie", "Set-Cookie: auth={}; HttpOnly; Secure", _plain)
keyed("authorization-bearer", "Authorization: Bearer {}", lambda g: g(B64URL, 40))
keyed("authorization-basic", "Authorization: Basic {}", lambda g: g(B64, 24) + "==")
keyed("authorization-token-lower", "Authorization: token {}", lambda g: "ghp_" + g(ALNUM, 36))
keyed("authorization-token", "Authorization: Token {}", lambda g: g(LOWER_HEX, 40))
keyed("authorization-apikey", "Authorization: ApiKey {}", _plain)
keyed(
    "authorization-digest",
    'Authorization: Digest username="bob", response="{}"',
    lambda g: g(LOWER_HEX, 32),
)
keyed(
    "authorization-sso-key", "Authorization: sso-key {}", lambda g: f"{g(ALNUM, 20)}:{g(ALNUM, 20)}"
)
keyed("proxy-authorization", "Proxy-Authorization: Basic {}", lambda g: g(B64, 28))
keyed("bearer-alone", "upstream said 401 for bearer {}", lambda g: g(B64URL, 32))
keyed("sql-password", "ALTER ROLE app WITH LOGIN PASSWORD '{}'", _plain)
keyed("sql-identified-by", "CREATE USER 'app'@'%' IDENTIFIED BY '{}'", _plain)
keyed(
    "libpq-missing-equals", 'invalid dsn: missing "=" after "{}" in connection info string', _plain
)
keyed(
    "mysql-p",
    "Command '['mysql', '-u', 'root', '-p{}', 'app']' returned non-zero exit status 1.",
    _plain,
)
keyed("mysql-p-shell", "mysqldump -u root -p{} app failed", _plain)
keyed("curl-u", "curl -u deploy:{} https://example.com exited 22", _plain)
keyed("cli-token", "Command '['gh', 'release', '--token', '{}']' failed", _plain)
keyed("cli-password-eq", "tool --password={} --verbose failed", _plain)
keyed("cli-api-key-space", "cli --api-key {} --region eu failed", _plain)


@case("pydantic-input-value")
def _(g: _Gen) -> tuple[str, str]:
    secret = g(ALNUM, 20)
    text = (
        "1 validation error for Settings\napi_key\n  String should have at most 10 characters "
        f"[type=string_too_long, input_value='{secret}', input_type=str]"
    )
    return text, secret


@case("pydantic-password-nested")
def _(g: _Gen) -> tuple[str, str]:
    secret = g.password()
    text = (
        "1 validation error for Config\ndatabase.password\n  Value error, too weak "
        f"[type=value_error, input_value='{secret}', input_type=str]"
    )
    return text, secret


# --- URL credentials -------------------------------------------------------------------------

keyed("url-postgres", "could not connect to postgres://app:{}@db:5432/orders", _plain)
keyed(
    "url-at-in-password",
    "could not connect to postgresql://app:{}@db/orders",
    lambda g: f"p@{g(ALNUM, 8)}",
)
keyed(
    "url-slash-in-password",
    "amqp://guest:{}@rabbit:5672/ unreachable",
    lambda g: f"{g(ALNUM, 6)}/{g(ALNUM, 6)}",
)
keyed("url-empty-user", "redis://:{}@cache:6379/0 timed out", _plain)
keyed(
    "url-percent-encoded",
    "mysql://app%40corp:{}@db/app refused",
    lambda g: f"{g(ALNUM, 6)}%40{g(ALNUM, 6)}%2F",
)
keyed("url-mongodb-srv", "mongodb+srv://admin:{}@cluster0.example.net/db failed", _plain)
keyed(
    "url-https-token-user",
    "git fetch https://x-access-token:{}@github.com/o/r.git failed",
    lambda g: "ghs_" + g(ALNUM, 36),
)
keyed(
    "url-colon-in-password",
    "https://user:{}@example.com/x 401",
    lambda g: f"{g(ALNUM, 5)}:{g(ALNUM, 5)}",
)
keyed("url-query-password", "GET https://api.example.com/login?user=bob&password={} 500", _plain)
keyed("url-query-token", "GET https://api.example.com/feed?token={}&page=2 500", _plain)


@case("url-percent-userinfo")
def _(g: _Gen) -> tuple[str, str]:
    secret = f"app%3A{g(ALNUM, 12)}"
    return f"connect to postgres://{secret}@db/app failed", secret


# --- source lines of a stack trace (the crash line is in a generated module) -----------------


def source(case_id: str, line: str, make: Callable[[_Gen], str] | None = None) -> None:
    """``line`` (one ``{}``) is the source line that raises, seen in the stack trace."""

    def build(gen: _Gen) -> tuple[str, str]:
        secret = make(gen) if make is not None else gen(ALNUM, 12)
        return line.format(secret), secret

    _BUILDERS.append((case_id, "source", build))


source("source-positional-connect", 'connect("db.internal", "{}")')
source("source-smtp-login", 'smtp_login("bob@example.com", "{}")')
source("source-high-entropy-literal", 'fetch("reports", "{}")', lambda g: g(ALNUM, 24))
source("source-environ-assign", 'os_environ["OPENAI_API_KEY"] = "{}"; fail()')
source("source-dict-password", 'cfg["password"] = "{}"; fail()')
source("source-b64decode", 'PASSWORD = b64decode("{}"); fail()', lambda g: g(B64, 24))
source("source-get-default", 'value = getenv("DB_PASSWORD", "{}"); fail()')
source("source-annotation", 'password: str = "{}"; fail()')
source("source-keyword", 'make_client(api_key="{}")')
source("source-auth-tuple", 'fetch_url("https://x", auth=("bob", "{}"))')
source("source-token-format", 'fetch("{}")', lambda g: "sk_live_" + g(ALNUM, 24))
source("source-bytes-literal", "decrypt(key=b'{}')", lambda g: g(ALNUM, 20))


# --- thread names, asyncio task names and callback arguments ----------------------------------


def named(case_id: str, carrier: str, template: str, make: Callable[[_Gen], str]) -> None:
    def build(gen: _Gen) -> tuple[str, str]:
        secret = make(gen)
        return template.format(secret), secret

    _BUILDERS.append((case_id, carrier, build))


named("thread-name-token-eq", "thread-name", "sync token={}", _plain)
named("thread-name-ghp", "thread-name", "mirror-{}", lambda g: "ghp_" + g(ALNUM, 36))
named("thread-name-url", "thread-name", "poll redis://:{}@cache", _plain)
named("thread-name-password", "thread-name", "worker (password={})", _plain)
named(
    "thread-name-slack",
    "thread-name",
    "notify {}",
    lambda g: f"xoxb-{g(string.digits, 12)}-{g(ALNUM, 24)}",
)
named("task-name-api-key", "task-name", "fetch api_key={}", _plain)
named(
    "task-name-jwt",
    "task-name",
    "session {}",
    lambda g: f"eyJhbGciOiJIUzI1NiJ9.eyJ{g(B64URL, 30)}.{g(B64URL, 43)}",
)
named("callback-args-password", "callback-args", "{}", lambda g: g.password(12, ""))
named("callback-args-keyword", "callback-args", "{}", lambda g: g(ALNUM, 10))
named("callback-args-token", "callback-args", "{}", lambda g: "sk-proj-" + g(B64URL, 48))


def build() -> list[Case]:
    """Every case, in a fixed order, with its synthetic secret."""
    cases = []
    for case_id, carrier, builder in _BUILDERS:
        text, secret = builder(_Gen(case_id))
        assert secret in text, case_id
        cases.append(Case(case_id, text, secret, carrier))
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids are unique"
    return cases


CASES = build()
