"""Keeping what came from outside (files, chats, servers, the command line) from acting on
the user's terminal or machine."""
