"""The Hydra plumbing of the console entry: argv handling, secret refusal, error mapping, config groups.

Every ``bench.commands`` module runs through :func:`bench.app.command.hydra_command`; nothing
below the entry imports this package.
"""
