"""Secret redaction: each kind is masked in place, positions never move, lookalikes are left alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from localmind.secret_masking import redact
from tests.work import lines_run

PRIVATE_KEY = """config = '''
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB
aFDrBz9vFqU4yA7zF0k3oQ9eZ2s8mYF1jT3w5uC2dXnE1V6qR7pL9kH4gJ0bN8a=
-----END RSA PRIVATE KEY-----
'''
"""

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

# Each case: a line holding a secret, and the secret that must disappear from it.
SECRETS = [
    ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("export AWS_SESSION=ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("uses gho_16C7e42F292c6912E7710c838347Ae178B4a here", "gho_16C7e42F292c6912E7710c838347Ae178B4a"),
    (
        "pat: github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    ),
    ("GITLAB=glpat-xxXXxxXXxx1234567890", "glpat-xxXXxxXXxx1234567890"),
    ("slack xoxb-1234567890-0987654321-AbCdEfGhIjKl", "xoxb-1234567890-0987654321-AbCdEfGhIjKl"),
    ("stripe.api_key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("rk_live_51H8abcdEFGHijklMNOP used", "rk_live_51H8abcdEFGHijklMNOP"),
    (
        'client = OpenAI(api_key="sk-proj-abcdefghijklmnopqrstuvwxyz0123456789")',
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    ("key sk-Abc123def456ghi789jkl012mno", "sk-Abc123def456ghi789jkl012mno"),
    ("maps AIzaSyD-abcdefghijklmnopqrstuvwxyz12345 loaded", "AIzaSyD-abcdefghijklmnopqrstuvwxyz12345"),
    (f"jwt {JWT}", JWT),
    ("curl -H 'Authorization: Bearer abcdef0123456789xyz'", "abcdef0123456789xyz"),
    ('password = "hunter2hunter2"', "hunter2hunter2"),
    ("DB_PASSWORD=s3cr3t-pa55", "s3cr3t-pa55"),
    ('{"api_key": "abcdef123456"}', "abcdef123456"),
    ("  client_secret: 5f4dcc3b5aa765d61d8327deb882cf99", "5f4dcc3b5aa765d61d8327deb882cf99"),
    ("SECRET_KEY = 'django-insecure-abc123xyz'", "django-insecure-abc123xyz"),
    ("const authToken = 'a1b2c3d4e5f6';", "a1b2c3d4e5f6"),
    ('github_token = "tok_0123456789"', "tok_0123456789"),
    ("password: str = 'typed1234'", "typed1234"),
    ('$config["db_pass"] => "php-pass-99"', "php-pass-99"),
    ("auth_token := `go0123456789`", "go0123456789"),
    ("settings['SECRET_KEY'] = 'from-a-dict-42'", "from-a-dict-42"),
    ("cd $(pwd)&&PASSWORD=hunter22 ./run", "hunter22"),
]


def assert_same_shape(original: str, redacted: str) -> None:
    assert len(redacted) == len(original)
    assert [i for i, c in enumerate(redacted) if c in "\r\n"] == [i for i, c in enumerate(original) if c in "\r\n"]
    assert all(r == o or r == "*" for r, o in zip(redacted, original, strict=True))


@pytest.mark.parametrize(("line", "secret"), SECRETS, ids=[s[1][:16] for s in SECRETS])
def test_each_kind_of_secret_is_masked_in_place(line: str, secret: str) -> None:
    redacted, count = redact(line)
    assert secret not in redacted
    assert count == 1
    assert_same_shape(line, redacted)
    start = line.index(secret)
    assert redacted[start : start + len(secret)] == "*" * len(secret)


def test_private_key_body_is_masked_and_lines_stay() -> None:
    redacted, count = redact(PRIVATE_KEY)
    assert count == 1
    assert_same_shape(PRIVATE_KEY, redacted)
    assert "-----BEGIN RSA PRIVATE KEY-----" in redacted and "-----END RSA PRIVATE KEY-----" in redacted
    assert "MIIE" not in redacted and "=\n" not in redacted
    assert redacted.splitlines()[2] == "*" * 64


def test_crlf_line_breaks_stay_inside_a_masked_key() -> None:
    text = PRIVATE_KEY.replace("\n", "\r\n")
    redacted, _ = redact(text)
    assert_same_shape(text, redacted)
    assert redacted.count("\r\n") == text.count("\r\n")


def test_connection_string_masks_only_the_password() -> None:
    text = 'DATABASE_URL = "postgres://admin:hunter2hunter2@db.internal:5432/app"\nredis://:pw@cache:6379/0\n'
    redacted, count = redact(text)
    assert (
        redacted == 'DATABASE_URL = "postgres://admin:**************@db.internal:5432/app"\nredis://:**@cache:6379/0\n'
    )
    assert count == 2


INNOCENT = [
    "token_count = 1234567890",
    "max_tokens: 256",
    "tokens = tokenize(text)",
    "tokenizer = load()",
    "password_field = forms.CharField(max_length=100)",
    'auth_url = "https://example.com/login"',
    'authority = "Internet Assigned Numbers Authority"',
    'author = "Jane Doe Smith"',
    'bypass = "something long 123"',
    'compass = "north-north-west"',
    'oauth = "not a key name here"',
    'password = os.environ["DB_PASSWORD"]',
    'password = os.getenv("DB_PASSWORD")',
    "api_key = process.env.API_KEY",
    "token: ${{ secrets.GITHUB_TOKEN }}",
    'api_key = "${API_KEY}"',
    'secret = "<your-token-here>"',
    'password: "{{ vault_db_password }}"',
    "password = None",
    'password = ""',
    "is_secret = True",
    "login(password=password, token=access_token)",
    "auth: AuthTypes | None = USE_CLIENT_DEFAULT,",
    "    :param auth_token: registration used to clean up",
    "# First pass: determine the maximum length",
    "SERVER_AUTH = '1.3.6.1.5.5.7.3.1'",
    'EXPIRED_TOKEN = "expired_token"',
    'api_key="your-replicate-api-key"',
    "password: ********",
    "token=abc&token_type_hint=refresh_token",
    "https://example.com/path:8080/x@y",
    "task-management-service-backend and sk-some-long-kebab-case-name",
    "_SK_START = b'-----BEGIN OPENSSH PRIVATE KEY-----'\n_SK_END = b'-----END OPENSSH PRIVATE KEY-----'",
]


@pytest.mark.parametrize("text", INNOCENT)
def test_innocent_lookalikes_are_left_alone(text: str) -> None:
    assert redact(text) == (text, 0)


def test_redaction_is_idempotent() -> None:
    text = "\n".join([PRIVATE_KEY, *(line for line, _ in SECRETS), "postgres://u:longpassword1@h/db"])
    once, count = redact(text)
    assert count == len(SECRETS) + 2
    assert redact(once) == (once, 0)


def test_overlapping_findings_count_once() -> None:
    redacted, count = redact('GITHUB_TOKEN="ghp_abcdefghijklmnopqrstuvwxyz0123456789"')
    assert count == 1 and "ghp_" not in redacted


BLOCK = (
    "def handler(request, token_count=3):\n"
    "    user = request.user  # An ordinary line of code with words and numbers 12345.\n"
    '    password = "hunter2hunter2"\n'
    "    url = 'https://example.com/api/v1/items?page=2&size=50'\n"
    "    return render(request, 'items.html', {'items': items, 'max_tokens': 256})\n"
)


def assert_linear_work(unit: str, copies: int) -> None:
    """Twice the input runs at most twice the lines of Local Mind's code, and a few more: work that grows
    faster than the text (a loop that scans it again for each finding) would run about four times as many.
    Counted, not timed, so a busy machine gives the same answer."""
    _, single = lines_run(lambda: redact(unit * copies))
    _, double = lines_run(lambda: redact(unit * (2 * copies)))
    assert double <= 2 * single + 100, f"{copies} copies ran {single} lines, {2 * copies} ran {double}"


def test_eleven_megabytes_are_redacted_with_work_linear_in_their_length() -> None:
    text = BLOCK * (11_000_000 // len(BLOCK))
    redacted, count = redact(text)
    assert count == text.count("hunter2hunter2")
    assert len(redacted) == len(text)
    assert_linear_work(BLOCK, 1_000)


def redact_in_a_child(text: str) -> tuple[str, int]:
    """redact(text) in a child process given a minute, only against a hang: these inputs take milliseconds,
    a pattern that backtracks catastrophically takes minutes or forever. The regex engine's work cannot be
    counted from Python, and a regex stuck in this process could not be interrupted."""
    code = "import json, sys; from localmind.secret_masking import redact; print(json.dumps(redact(sys.stdin.read())))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], input=text, capture_output=True, encoding="utf-8", timeout=60, check=True
        )
    except subprocess.TimeoutExpired:
        pytest.fail("redacting did not end within a minute: a pattern backtracks catastrophically on this input")
    redacted, count = json.loads(done.stdout)
    return redacted, count


@pytest.mark.parametrize(
    ("unit", "copies"),
    [("password=", 20_000), ("password=abc ", 20_000), ("-----BEGIN RSA PRIVATE KEY-----", 5_000), ("a.", 100_000)],
    ids=["chained", "dense", "unclosed-keys", "dots"],
)
def test_hostile_inputs_are_redacted_without_runaway_work(unit: str, copies: int) -> None:
    redacted, _ = redact_in_a_child(unit * copies)
    assert len(redacted) == len(unit * copies)
    assert_linear_work(unit, copies // 4)
