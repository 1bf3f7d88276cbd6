"""Inter-annotator agreement of a project (issue 17): the selector that streams annotators' submitted sets
into the framework-free counter (annotations.formats.agreement), the CSV of its report, and the plot of
agreement over time. Large projects compute it as a job (inference.agreement), which annotations never imports."""
