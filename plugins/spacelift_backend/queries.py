"""Every GraphQL document the plugin sends to Spacelift, in one place.

Names and shapes follow ../shared/reference/spacelift-graphql-api.md. Every query also selects
`viewer { id }`: Spacelift answers an expired token as an anonymous caller (empty lists, null
viewer) instead of a 401, and a null viewer is how the client tells the two apart.
"""

from __future__ import annotations

# Stacks are fetched in pages of this size (the most spacectl ever asks for).
PAGE_SIZE = 50
# A safety stop for paging: 10 000 stacks.
MAX_PAGES = 200

COMMIT_FIELDS = """
fragment CommitFields on Commit {
  hash
  message
  authorName
  authorLogin
  timestamp
  url
}
"""

RUN_FIELDS = """
fragment RunFields on Run {
  id
  type
  state
  title
  branch
  createdAt
  updatedAt
  finished
  triggeredBy
  isMostRecent
  driftDetection
  commit { ...CommitFields }
  delta { addCount changeCount deleteCount resources }
}
"""

STACK_LIST_FIELDS = """
fragment StackListFields on Stack {
  id
  name
  description
  labels
  state
  stateSetAt
  branch
  repository
  namespace
  provider
  space
  spaceDetails { id name }
  lockedBy
  isDisabled
  trackedCommit { ...CommitFields }
  vendorConfig { __typename }
}
"""

TOKEN = """
mutation GreenroomToken($id: ID!, $secret: String!) {
  apiKeyUser(id: $id, secret: $secret) {
    id
    jwt
    validUntil
  }
}
"""

VIEWER = """
query GreenroomViewer {
  viewer { id name }
}
"""

STACKS_PAGE = (
    """
query GreenroomStacks($first: Int!, $after: String) {
  viewer { id }
  searchStacks(input: {first: $first, after: $after}) {
    edges { node { ...StackListFields } }
    pageInfo { endCursor hasNextPage }
  }
}
"""
    + STACK_LIST_FIELDS
    + COMMIT_FIELDS
)

STACK = (
    """
query GreenroomStack($id: ID!) {
  viewer { id }
  stack(id: $id) {
    ...StackListFields
    createdAt
    repositoryURL
    projectRoot
    administrative
    autodeploy
    autoretry
    lockedAt
    lockNote
    blocked
    blocker { ...RunFields }
    workerPool { id name }
    runnerImage
    terraformVersion
    managesStateFile
    starred
    entityCount
    apiHost
    trackedCommitSetBy
    vendorConfig {
      __typename
      ... on StackConfigVendorTerraform { version workspace workflowTool }
      ... on StackConfigVendorOpenTofu { version workspace workflowTool }
      ... on StackConfigVendorPulumi { loginURL stackName }
      ... on StackConfigVendorKubernetes { namespace kubectlVersion }
      ... on StackConfigVendorCloudFormation { entryTemplateFile region stackName templateBucket }
    }
    runs { ...RunFields }
  }
}
"""
    + STACK_LIST_FIELDS
    + RUN_FIELDS
    + COMMIT_FIELDS
)

# One document per run list; `runs` are tracked runs (and destroys), as in Spacelift's UI.
_RUNS_TEMPLATE = """
query Greenroom{name}($id: ID!, $before: ID) {{
  viewer {{ id }}
  stack(id: $id) {{
    id
    runs: {field}(before: $before) {{ ...RunFields }}
  }}
}}
"""

def _run_list(name: str, field: str) -> tuple[str, str]:
    return "Greenroom" + name, _RUNS_TEMPLATE.format(name=name, field=field) + RUN_FIELDS + COMMIT_FIELDS


# run type -> (operation name, document)
RUN_LISTS: dict[str, tuple[str, str]] = {
    "TRACKED": _run_list("TrackedRuns", "runs"),
    "PROPOSED": _run_list("ProposedRuns", "proposedRuns"),
    "TASK": _run_list("Tasks", "tasks"),
}

RUN = (
    """
query GreenroomRun($id: ID!, $runId: ID!) {
  viewer { id }
  stack(id: $id) {
    id
    name
    run(id: $runId) {
      ...RunFields
      needsApproval
      expired
      canRetry
      canConfirm
      command
      history { state timestamp terminal hasLogs stateVersion note username }
      comments { body createdAt username }
    }
  }
}
"""
    + RUN_FIELDS
    + COMMIT_FIELDS
)

RECENT_RUNS_PAGE = """
query GreenroomRecentRuns($first: Int!, $after: String) {
  viewer { id }
  searchStacks(input: {first: $first, after: $after}) {
    edges { node { id runs { id type state createdAt updatedAt finished } } }
    pageInfo { endCursor hasNextPage }
  }
}
"""

# Asked only after Spacelift refused an action, to say why in our own words.
STACK_BLOCKERS = """
query GreenroomStackBlockers($id: ID!) {
  viewer { id name }
  stack(id: $id) { id isDisabled lockedBy }
}
"""

TRIGGER_RUN = """
mutation GreenroomTriggerRun($stack: ID!) {
  runTrigger(stack: $stack) {
    id
    state
    type
  }
}
"""

# The run as it is now, read past the response cache before an action (its state decides).
RUN_STATE = """
query GreenroomRunState($id: ID!, $runId: ID!) {
  viewer { id }
  stack(id: $id) {
    id
    run(id: $runId) { id type state canRetry }
  }
}
"""

_RUN_RESULT = "{\n    id\n    state\n    type\n  }"

# action -> (operation name, document). Confirm, discard and cancel take a note, which
# Spacelift shows on the run's history ("via Greenroom by <user>"); retry takes none.
RUN_MUTATIONS: dict[str, tuple[str, str]] = {
    "confirm": ("GreenroomConfirmRun", f"""
mutation GreenroomConfirmRun($stack: ID!, $run: ID!, $note: String) {{
  runConfirm(stack: $stack, run: $run, note: $note) {_RUN_RESULT}
}}
"""),
    "discard": ("GreenroomDiscardRun", f"""
mutation GreenroomDiscardRun($stack: ID!, $run: ID!, $note: String) {{
  runDiscard(stack: $stack, run: $run, note: $note) {_RUN_RESULT}
}}
"""),
    "cancel": ("GreenroomCancelRun", f"""
mutation GreenroomCancelRun($stack: ID!, $run: ID!, $note: String) {{
  runCancel(stack: $stack, run: $run, note: $note) {_RUN_RESULT}
}}
"""),
    "retry": ("GreenroomRetryRun", f"""
mutation GreenroomRetryRun($stack: ID!, $run: ID!) {{
  runRetry(stack: $stack, run: $run) {_RUN_RESULT}
}}
"""),
}  # fmt: skip
# The mutation field each answers under.
RUN_MUTATION_FIELDS = {"confirm": "runConfirm", "discard": "runDiscard", "cancel": "runCancel",
                       "retry": "runRetry"}  # fmt: skip

# Every document above, by operation name (a test validates each against the simulator's schema).
ALL: dict[str, str] = {
    "GreenroomToken": TOKEN,
    "GreenroomViewer": VIEWER,
    "GreenroomStacks": STACKS_PAGE,
    "GreenroomStack": STACK,
    **dict(RUN_LISTS.values()),
    "GreenroomRun": RUN,
    "GreenroomRecentRuns": RECENT_RUNS_PAGE,
    "GreenroomStackBlockers": STACK_BLOCKERS,
    "GreenroomTriggerRun": TRIGGER_RUN,
    "GreenroomRunState": RUN_STATE,
    **dict(RUN_MUTATIONS.values()),
}
