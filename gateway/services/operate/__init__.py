"""What operators do: programs, rewards, stores and tills, members and cards, API keys.

The console pages, the admin API and the CLI call these services; each owns its transaction and
writes an audit row naming the actor, with the state before and after."""
