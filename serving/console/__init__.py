"""The web console served by `creditgrade serve` at /console (see `app`)."""
