"""One module per `teamform` sub-command: a `run(cfg)` function and a thin `main(argv)`."""
