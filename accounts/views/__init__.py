"""The account pages: site administration of users (staff), a person's API tokens, the password change."""
