"""``ctfa protocols``: the protocol files installed with the package, and one of them whole."""

import sys

from ctfa_brian.cli_commands.common import EXIT_OK, fail

__all__ = ["main", "summary"]


def summary(path, width=96):
    """A protocol file's opening comment (what it runs), cut to ``width`` characters."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.lstrip("#").strip()
        if not line.startswith("#") or not text or "ctfa run" in text or "Run with" in text:
            break
        words.append(text)
    text = " ".join(words)
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def main(args, argv):
    """List the shipped protocol files, or print one (``ctfa protocols show NAME``)."""
    from ctfa_brian.protocols.config import protocol_path, shipped_files

    files = shipped_files()
    if args.action is None:
        if args.name is not None:
            return fail(f"unknown action {args.name!r}; use: ctfa protocols [show NAME]")
        width = max(len(name) for name in files)
        for name, path in files.items():
            print(f"{name:<{width}}  {summary(path)}")
        print(f"\nctfa run NAME --out DIR runs one; ctfa protocols show NAME > my.toml copies it "
              f"to edit ({len(files)} files in {next(iter(files.values())).parent})")
        return EXIT_OK
    if args.name is None:
        return fail("ctfa protocols show needs a NAME, e.g. ctfa protocols show overlap")
    try:
        path = protocol_path(args.name)
    except ValueError as err:
        return fail(err)
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return EXIT_OK
