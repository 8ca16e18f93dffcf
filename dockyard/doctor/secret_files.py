"""Context paths named like secrets (`.env`, keys, registry and cloud credentials); templates
such as `.env.example` are not."""

from __future__ import annotations

from pathlib import PurePosixPath

_SECRET_NAMES = {
    ".env": "environment file",
    ".envrc": "direnv file",
    ".npmrc": "npm config (registry tokens)",
    ".yarnrc.yml": "yarn config (registry tokens)",
    ".pypirc": "PyPI credentials",
    ".netrc": "netrc credentials",
    "_netrc": "netrc credentials",
    ".git-credentials": "git credentials",
    ".dockercfg": "Docker registry credentials",
    ".pgpass": "PostgreSQL passwords",
    ".htpasswd": "password file",
    ".boto": "cloud credentials",
    ".s3cfg": "cloud credentials",
    "id_rsa": "SSH private key",
    "id_dsa": "SSH private key",
    "id_ecdsa": "SSH private key",
    "id_ed25519": "SSH private key",
    "credentials.json": "credentials file",
    "secrets.json": "secrets file",
    "secrets.yml": "secrets file",
    "secrets.yaml": "secrets file",
    "terraform.tfstate": "Terraform state (holds secrets)",
}
_SECRET_SUFFIXES = {
    ".pem": "PEM key or certificate",
    ".key": "private key",
    ".p12": "PKCS#12 key store",
    ".pfx": "PKCS#12 key store",
    ".jks": "Java key store",
    ".keystore": "key store",
    ".kdbx": "KeePass database",
    ".ppk": "PuTTY private key",
    ".tfvars": "Terraform variables",
    ".env": "environment file",
}
_SECRET_IN_DIR = {(".aws", "credentials"), (".docker", "config.json"), (".kube", "config")}
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".tpl", ".dist", ".defaults")


def secret_kind(path: str) -> str | None:
    """Why a context path looks like a secret, or None (`.env.example` and kin are templates)."""
    parts = PurePosixPath(path).parts
    name = parts[-1].lower()
    if name.endswith(_TEMPLATE_SUFFIXES):
        return None
    if name in _SECRET_NAMES:
        return _SECRET_NAMES[name]
    if name.startswith(".env."):
        return "environment file"
    if len(parts) >= 2 and (parts[-2].lower(), name) in _SECRET_IN_DIR:
        return "credentials file"
    if len(parts) >= 2 and parts[-2].lower() == ".ssh" and not name.endswith(".pub"):
        return "SSH file"
    for suffix, kind in _SECRET_SUFFIXES.items():
        if name.endswith(suffix) and name != suffix:
            return kind
    return None
