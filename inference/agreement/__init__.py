"""Inter-annotator agreement of a large project as a job (issue 17): the `agreement` job kind, its stored
result and the agreement page's job panel. The figures themselves are annotations' (annotations.agreement);
this package only runs them through the job engine, which annotations may not import."""
