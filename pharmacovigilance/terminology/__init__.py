"""Terminologies the hospital supplies (MedDRA, ATC, SNOMED CT): licensed, never shipped; loaded from the
hospital's files by a command or an admin upload (a job), looked up as you type."""
