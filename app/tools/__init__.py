"""Local tools the model can call: a calculator and date arithmetic, with a rule for tools
that change something (the user confirms, nothing the model read can)."""
