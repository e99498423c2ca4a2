"""Policy documents generated from the data: the policy, the travel policy, the memo, the program."""
