"""Inter-annotator agreement of a project (issue 17): the selector that streams annotators' submitted sets
into the framework-free counter (annotations.formats.agreement), and the CSV of its report."""
