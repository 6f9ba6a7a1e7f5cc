"""``python -m analytics users``: the first administrator, then staff accounts."""

from __future__ import annotations

from pathlib import Path

from analytics.commands._signin import read_password
from analytics.errors import CityBrainError
from analytics.identity import ROLES
from analytics.opendata import accounts
from analytics.store import Store


def register(sub) -> None:
    p = sub.add_parser(
        "users", help="create the first administrator; add, list or disable accounts",
        description="There is no default account. `create-admin` makes the first administrator "
        "(once); after that an administrator signs in here to add, list or disable users. "
        "Passwords are read hidden at a terminal, or one line each from standard input.")
    p.add_argument("action", choices=["create-admin", "add", "list", "disable", "enable"])
    p.add_argument("username", nargs="?", help="the account to create, add, disable or enable")
    p.add_argument("--role", choices=[r for r in ROLES], help="role of the new account (add)")
    p.add_argument("--name", default="", help="display name")
    p.add_argument("--department", help="a data steward's department (Chinese or English name, "
                   "as in data/contracts): the steward loads only its datasets (add)")
    p.add_argument("--no-password", action="store_true",
                   help="add: sign-in through the identity provider only")
    p.add_argument("--admin", help="administrator signing in to add/list/disable")
    p.add_argument("--store", type=Path, default=Path("data/city.duckdb"), help="store file")
    p.set_defaults(func=run)


def run(args) -> int:
    with Store.open(args.store) as store:
        if args.action == "create-admin":
            if not args.username:
                raise CityBrainError("give the administrator's user name: users create-admin NAME")
            actor = accounts.create_first_admin(
                store, args.username, read_password(f"new password for {args.username}: ",
                                                    confirm=True), args.name)
            print(f"administrator {actor.name} created")
            return 0
        if not args.admin:
            raise CityBrainError(f"`users {args.action}` needs --admin NAME (an administrator signs in)")
        admin = accounts.sign_in(store, args.admin, read_password(f"password for {args.admin}: ")).actor
        if args.action == "list":
            print(accounts.users(store, admin).to_string(index=False))
            return 0
        if not args.username:
            raise CityBrainError(f"`users {args.action}` needs the user name")
        if args.action == "add":
            if not args.role:
                raise CityBrainError(f"--role is needed: one of {', '.join(ROLES)}")
            password = None if args.no_password else read_password(
                f"new password for {args.username}: ", confirm=True)
            actor = accounts.add_user(store, admin, args.username, args.role, password, args.name,
                                      department=args.department)
            of = f", {actor.department}" if actor.department else ""
            print(f"user {actor.name} ({actor.role}{of}) added")
        else:
            accounts.set_disabled(store, admin, args.username, args.action == "disable")
            print(f"user {args.username} {args.action}d")
    return 0
