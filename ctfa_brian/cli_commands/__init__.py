"""The ``ctfa`` subcommands, one module each: `train`, `protocol` (``ctfa run``), `analyze`.

`ctfa_brian.cli` builds the parser and calls ``ctfa_brian.cli_commands.<name>.main(args, argv)``;
`common` holds what they share (exit statuses, the option names users type, messages).
"""
