"""The turn manager and what it needs: sentence splitting, conversation history."""
