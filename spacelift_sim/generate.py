"""Seeded content for the simulated world: spaces, worker pools, stacks and their run histories.

Everything here is a pure function of (seed, index, start time): the same seed gives the same
names, ids, labels, states, deltas and commits. Run histories are built per stack on demand, from
a generator seeded with (seed, stack index), so a world of 10,000 stacks builds in well under a
second and a stack's history is the same whenever it is first looked at.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable

from .model import (
    Commit,
    Delta,
    Run,
    RunComment,
    Space,
    Stack,
    VendorConfig,
    WorkerPool,
    make_ulid,
    next_state,
)

ENVS = ("prod", "staging", "dev", "qa", "sandbox", "perf")
COMPONENTS = (
    "network", "eks", "rds", "iam", "dns", "vpc", "kafka", "redis", "s3", "monitoring",
    "billing", "api-gateway", "lambda", "cdn", "vault", "ecr", "elasticsearch", "bastion",
    "payments", "search", "warehouse", "kms", "logging", "ingress", "queues", "sso",
)  # fmt: skip
REGIONS = ("eu", "us", "ap", "eu-west-1", "us-east-1", "us-west-2", "eu-central-1", "global")
TEAMS = ("platform", "data", "security", "payments", "growth", "core", "mobile", "ml", "sre")
DATA_COMPONENTS = frozenset({"rds", "kafka", "redis", "s3", "elasticsearch", "warehouse", "queues"})
SECURITY_COMPONENTS = frozenset({"iam", "vault", "kms", "sso", "bastion"})

HUMANS = (
    ("Alice Moreau", "amoreau"), ("Bilal Haddad", "bhaddad"), ("Chen Wei", "cwei"),
    ("Dana Kowalski", "dkowalski"), ("Emeka Obi", "eobi"), ("Freya Lind", "flind"),
    ("Gustavo Reyes", "greyes"), ("Hana Sato", "hsato"), ("Ines Duarte", "iduarte"),
    ("Jonas Berg", "jberg"), ("Kiran Rao", "krao"), ("Lea Fischer", "lfischer"),
)  # fmt: skip
BOTS = (("renovate[bot]", "renovate[bot]"), ("dependabot[bot]", "dependabot[bot]"))

COMMIT_TEMPLATES = (
    "Bump {component} module to v{major}.{minor}.{patch}",
    "Add {component} alarms for {env}",
    "Fix {component} security group rules",
    "Tighten IAM policy for {component}",
    "Increase {component} capacity in {region}",
    "Rotate {component} credentials",
    "Tag {component} resources with cost centre",
    "Merge pull request #{pr} from acme-corp/{branch}",
    "Enable deletion protection on {component}",
    "Move {component} outputs to remote state",
    'Revert "Increase {component} capacity in {region}"',
    "Pin provider versions for {component}",
)
LOCK_NOTES = (
    "Investigating drift, do not deploy",
    "Change freeze until the release is out",
    "Migrating state, hands off",
    None,
)
TASK_COMMANDS = ("terraform state list", "terraform output", "tofu state list", "terraform plan")
RUNNER_IMAGES = (
    "public.ecr.aws/spacelift/runner-terraform:latest",
    "ghcr.io/acme-corp/spacelift-runner:2024.11",
)

# Plausible seconds spent in each phase of a run, as (low, high).
PHASE_SECONDS = {
    "QUEUED": (1, 40),
    "READY": (1, 6),
    "PREPARING": (3, 20),
    "INITIALIZING": (10, 70),
    "PLANNING": (15, 240),
    "UNCONFIRMED": (60, 5400),
    "CONFIRMED": (1, 4),
    "PREPARING_APPLY": (4, 20),
    "APPLYING": (20, 900),
    "PERFORMING": (5, 120),
    "DESTROYING": (30, 600),
    "REPLAN_REQUESTED": (1, 5),
    "PREPARING_REPLAN": (3, 15),
}

# Where a stack's latest tracked run ended up, with weights.
FINAL_STATES = (
    ("FINISHED", 50), ("FAILED", 12), ("UNCONFIRMED", 10), ("DISCARDED", 4), ("STOPPED", 2),
    ("READY", 2), ("PREPARING", 2), ("INITIALIZING", 3), ("PLANNING", 4), ("APPLYING", 3),
    ("CONFIRMED", 1), ("PREPARING_APPLY", 2), ("NONE", 3),
)  # fmt: skip
ACTIVE_STATES = frozenset(
    {"UNCONFIRMED", "READY", "PREPARING", "INITIALIZING", "PLANNING", "APPLYING", "CONFIRMED",
     "PREPARING_APPLY"}
)  # fmt: skip


def build_spaces() -> dict[str, Space]:
    def space(id_: str, name: str, description: str, parent: str | None, labels: list[str]):
        return Space(id_, name, description, parent, parent is not None, labels)

    spaces = [
        space("root", "root", "The root of all spaces.", None, []),
        space("legacy", "legacy", "Stacks created before spaces existed.", "root", []),
        space("platform", "Platform", "Shared infrastructure.", "root", ["team:platform"]),
        space("platform-prod", "Platform production", "Production platform.", "platform",
              ["env:prod"]),
        space("platform-nonprod", "Platform non-production", "Staging, QA and dev.", "platform",
              ["env:nonprod"]),
        space("data", "Data", "Databases, queues and the warehouse.", "root", ["team:data"]),
        space("data-prod", "Data production", "Production data stores.", "data", ["env:prod"]),
        space("security", "Security", "IAM, KMS and secrets.", "root", ["team:security"]),
        space("sandbox", "Sandbox", "Experiments; anything goes.", "root", ["env:sandbox"]),
    ]  # fmt: skip
    return {s.id: s for s in spaces}


def build_worker_pools() -> dict[str, WorkerPool]:
    pools = [
        WorkerPool(make_ulid(1_700_000_000_000, 0, 0xE45), "eks-private", "Private EKS workers"),
        WorkerPool(
            make_ulid(1_700_000_100_000, 0, 0xDA7A), "data-vpc", "Workers inside the data VPC"
        ),
        WorkerPool(make_ulid(1_700_000_200_000, 0, 0x5EC), "security-isolated", None),
    ]
    return {p.id: p for p in pools}


def stack_names(rng: random.Random, count: int) -> list[str]:
    """`count` unique slug names: plain env-component-region first, then team-prefixed ones."""
    plain = [f"{e}-{c}-{r}" for e in ENVS for c in COMPONENTS for r in REGIONS]
    rng.shuffle(plain)
    names = plain[:count]
    if len(names) < count:
        teamed = [f"{t}-{n}" for t in TEAMS for n in plain]
        rng.shuffle(teamed)
        names.extend(teamed[: count - len(names)])
    serial = 2
    while len(names) < count:
        names.extend(f"{n}-{serial}" for n in plain[: count - len(names)])
        serial += 1
    return names


def _int(rng: random.Random, low: int, high: int) -> int:
    """Like rng.randint, three times faster (histories draw hundreds of thousands)."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items):
    return items[int(rng.random() * len(items))]


_CUMULATIVE: dict[int, tuple[list[str], list[int]]] = {}


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    cached = _CUMULATIVE.get(id(table))
    if cached is None:
        totals, running = [], 0
        for _, weight in table:
            running += weight
            totals.append(running)
        cached = _CUMULATIVE[id(table)] = ([v for v, _ in table], totals)
    values, totals = cached
    return values[bisect.bisect_right(totals, rng.random() * totals[-1])]


def _commit(rng: random.Random, stack: Stack, timestamp: int, author=None, branch=None) -> Commit:
    parts = stack.id.split("-")
    component = parts[-2] if len(parts) >= 3 else stack.id
    name, login = author or _pick(rng, HUMANS + BOTS)
    message = _pick(rng, COMMIT_TEMPLATES).format(
        component=component,
        env=parts[0],
        region=parts[-1],
        major=_int(rng, 1, 6),
        minor=_int(rng, 0, 30),
        patch=_int(rng, 0, 12),
        pr=_int(rng, 100, 4800),
        branch=branch or f"{login.split('[')[0]}/{component}-update",
    )
    sha = f"{rng.getrandbits(160):040x}"
    return Commit(
        hash=sha,
        message=message,
        author_name=name,
        author_login=None if rng.random() < 0.08 else login,
        timestamp=timestamp,
        url=f"{stack.repository_url}/commit/{sha}",
        tag=None,
    )


def build_stack(seed: int, index: int, name: str, start: int, spaces, pools) -> Stack:
    """One stack's attributes and the recipe (`plan`) for its run history."""
    rng = random.Random(f"{seed}/stack/{index}")
    parts = name.split("-")
    env = next((p for p in parts if p in ENVS), "prod")
    component = next((c for c in COMPONENTS if f"-{c}-" in f"-{name}-"), "network")
    region = parts[-1] if not parts[-1].isdigit() else parts[-2]
    team = parts[0] if parts[0] in TEAMS else _pick(rng, TEAMS)
    roll = rng.random()
    if roll < 0.02:
        space = "root"
    elif roll < 0.10:
        space = "legacy"
    elif env in ("sandbox", "dev") and roll < 0.5:
        space = "sandbox"
    elif component in DATA_COMPONENTS:
        space = "data-prod" if env == "prod" else "data"
    elif component in SECURITY_COMPONENTS:
        space = "security"
    else:
        space = "platform-prod" if env == "prod" else "platform-nonprod"
    vendor_kind = _weighted(
        rng,
        (("terraform", 55), ("opentofu", 25), ("pulumi", 12), ("kubernetes", 5),
         ("cloudformation", 3)),
    )  # fmt: skip
    if vendor_kind in ("terraform", "opentofu"):
        version = _pick(rng,
            ("1.5.7", "1.6.6", "1.7.5", "1.8.5") if vendor_kind == "terraform"
            else ("1.7.3", "1.8.5", "1.9.1", "1.10.2")
        )  # fmt: skip
        vendor = VendorConfig(
            "StackConfigVendorTerraform" if vendor_kind == "terraform"
            else "StackConfigVendorOpenTofu",
            {
                "version": None if rng.random() < 0.1 else version,
                "workspace": None if rng.random() < 0.8 else env,
                "useSmartSanitization": rng.random() < 0.6,
                "externalStateAccessEnabled": rng.random() < 0.2,
                "workflowTool": "OPEN_TOFU" if vendor_kind == "opentofu"
                else ("CUSTOM" if rng.random() < 0.05 else "TERRAFORM_FOSS"),
            },
        )  # fmt: skip
    elif vendor_kind == "pulumi":
        vendor = VendorConfig(
            "StackConfigVendorPulumi",
            {"loginURL": "s3://acme-pulumi-state", "stackName": f"acme/{name}"},
        )
    elif vendor_kind == "kubernetes":
        vendor = VendorConfig(
            "StackConfigVendorKubernetes",
            {"namespace": f"{team}-{env}", "kubectlVersion": _pick(rng, ("1.29.2", "1.30.1"))},
        )
    else:
        vendor = VendorConfig(
            "StackConfigVendorCloudFormation",
            {
                "entryTemplateFile": "template.yaml",
                "region": "eu-west-1" if region.startswith("eu") else "us-east-1",
                "stackName": name,
                "templateBucket": "s3://acme-cfn-templates",
            },
        )
    labels = [f"env:{env}", f"team:{team}", vendor_kind]
    if region != "global":
        labels.append(f"region:{region}")
    if env == "prod" and rng.random() < 0.3:
        labels.append("critical")
    if rng.random() < 0.15:
        labels.append(f"folder:{team}/{env}")
    if rng.random() < 0.1:
        labels.append("feature:add_plan_pr_comment")
    gitlab = rng.random() < 0.15
    repository = _pick(rng,
        ("infra", "terraform-aws-network", "platform-infra", "data-platform", "k8s-clusters",
         "security-baseline", "legacy-infra")
    )  # fmt: skip
    if vendor_kind == "pulumi":
        repository = "pulumi-services"
    final = _weighted(rng, FINAL_STATES)
    locked = rng.random() < 0.05
    disabled = final not in ACTIVE_STATES and rng.random() < 0.03
    # Stacks waiting for approval do not deploy on their own (or they would not wait).
    autodeploy = final not in ("UNCONFIRMED", "DISCARDED", "CONFIRMED", "PREPARING_APPLY") and (
        rng.random() < 0.5
    )
    created_at = start - _int(rng, 30 * 86400, 900 * 86400)
    locker = _pick(rng, HUMANS)
    stack = Stack(
        index=index,
        id=name,
        name=name,
        description=None
        if rng.random() < 0.15
        else (f"{component.replace('-', ' ').capitalize()} for {env} ({region}), owned by {team}."),
        state="NONE",
        state_set_at=None,
        branch="master" if space == "legacy" else ("production" if rng.random() < 0.04 else "main"),
        repository=repository,
        namespace="acme/platform" if gitlab else "acme-corp",
        provider="GITLAB" if gitlab else "GITHUB",
        project_root=None if rng.random() < 0.2 else f"stacks/{component}/{env}-{region}",
        labels=labels,
        space=space,
        administrative=rng.random() < 0.04,
        autodeploy=autodeploy,
        autoretry=rng.random() < 0.1,
        is_disabled=disabled,
        locked_by=locker[1] if locked else None,
        locked_at=start - _int(rng, 600, 7 * 86400) if locked else None,
        lock_note=_pick(rng, LOCK_NOTES) if locked else None,
        created_at=created_at,
        vendor=vendor,
        worker_pool=None if rng.random() < 0.5 else _pick(rng, sorted(pools)),
        runner_image=None if rng.random() < 0.7 else _pick(rng, RUNNER_IMAGES),
        manages_state_file=vendor_kind in ("terraform", "opentofu") and rng.random() < 0.85,
        starred=rng.random() < 0.05,
        entity_count=0 if final == "NONE" else _int(rng, 3, 420),
        tracked_commit=None,
        tracked_commit_set_by=None,
        terraform_version=vendor.fields.get("version") if vendor_kind != "pulumi" else None,
    )
    if final != "NONE":
        # The latest tracked run's last transition; in-progress runs moved a moment ago.
        if final in ACTIVE_STATES and final != "UNCONFIRMED":
            last_end = start - _int(rng, 1, 90)
        else:
            last_end = start - _int(rng, 120, 5 * 86400)
        author = _pick(rng, HUMANS + BOTS)
        stack.tracked_commit = _commit(rng, stack, last_end - _int(rng, 300, 3600), author)
        stack.tracked_commit_set_by = None if rng.random() < 0.7 else author[1]
        stack.state = final
        stack.state_set_at = last_end
        stack.plan = {
            "final": final,
            "last_end": last_end,
            "runs": _int(rng, 12, 48),
            "queued": _pick(rng, (0, 0, 1, 2)) if final in ACTIVE_STATES else 0,
        }
    stack.refresh_search_text()
    return stack


def choose_outcome(rng: random.Random, target: str) -> str:
    """An outcome that makes a run able to end up in `target`."""
    if target == "FINISHED":
        return "noop" if rng.random() < 0.25 else "changes"
    if target == "FAILED":
        return _weighted(rng, (("init_failed", 2), ("plan_failed", 5), ("apply_failed", 3)))
    if target in ("READY", "PREPARING", "INITIALIZING"):
        return _weighted(
            rng, (("changes", 70), ("noop", 15), ("plan_failed", 10), ("init_failed", 5))
        )
    if target == "PLANNING":
        return _weighted(rng, (("changes", 75), ("noop", 15), ("plan_failed", 10)))
    return "apply_failed" if rng.random() < 0.1 else "changes"


def play(
    run: Run,
    target: str,
    autodeploy: bool,
    rng: random.Random,
    start_ts: int,
    human: tuple[str, str],
) -> None:
    """Drive a new (QUEUED) run through the state machine until it reaches `target`."""
    ts = start_ts
    for _ in range(20):
        if run.state == target:
            return
        low, high = PHASE_SECONDS.get(run.state, (1, 10))
        ts += _int(rng, low, high)
        if run.state == "QUEUED":
            if target == "CANCELED":
                run.record("CANCELED", ts, None, human[1])
                return
            nxt = "READY"
        elif run.state == "UNCONFIRMED":
            if target == "DISCARDED":
                note = _pick(rng, (None, "Plan deletes too much", "Superseded by a newer commit"))
                run.record("DISCARDED", ts, note, human[1])
                return
            nxt = "CONFIRMED"
            run.record(
                nxt, ts, _pick(rng, (None, None, "LGTM", "Approved in change review")), human[1]
            )
            continue
        elif target == "STOPPED" and run.state == "PLANNING":
            run.record("STOPPED", ts, _pick(rng, (None, "Wrong branch")), human[1])
            return
        else:
            nxt = next_state(run, autodeploy)
            if nxt is None:
                return
        if run.state == "PLANNING" and nxt != "FAILED":
            run.delta = _delta(rng, run.outcome)
        run.record(nxt, ts)


def _delta(rng: random.Random, outcome: str) -> Delta:
    if outcome == "noop":
        return Delta(0, 0, 0, _int(rng, 3, 400))
    add, change, delete = _int(rng, 0, 12), _int(rng, 0, 8), _int(rng, 0, 4)
    if add + change + delete == 0:
        change = 1
    return Delta(add, change, delete, _int(rng, 3, 400) + add)


def build_history(
    seed: int, stack: Stack, make_id: Callable[[int, random.Random], str]
) -> list[Run]:
    """The stack's seeded run history, oldest first, matching the stack's `plan`."""
    plan = stack.plan
    if not plan:
        return []
    rng = random.Random(f"{seed}/runs/{stack.index}")
    runs: list[Run] = []
    end = int(plan["last_end"])
    final = str(plan["final"])
    for position in range(int(plan["runs"])):
        newest = position == 0
        if newest:
            run_type, target = "TRACKED", final
        else:
            run_type = _weighted(rng, (("TRACKED", 84), ("PROPOSED", 13), ("TASK", 3)))
            if run_type == "TRACKED":
                target = _weighted(
                    rng, (("FINISHED", 72), ("FAILED", 14), ("DISCARDED", 7), ("STOPPED", 3),
                          ("CANCELED", 4))
                )  # fmt: skip
            else:
                target = "FINISHED" if rng.random() < 0.85 else "FAILED"
        human = _pick(rng, HUMANS)
        author = _pick(rng, HUMANS + BOTS) if run_type != "PROPOSED" else human
        if newest and stack.tracked_commit is not None:
            commit = stack.tracked_commit
        else:
            branch = stack.branch if run_type != "PROPOSED" else f"{author[1]}/change-{position}"
            commit = _commit(rng, stack, end - _int(rng, 600, 7200), author, branch)
        run = Run(
            id="",
            stack_id=stack.id,
            type=run_type,
            state="QUEUED",
            title=commit.message if run_type != "TASK" else "Task",
            branch=stack.branch if run_type != "PROPOSED" else f"{author[1]}/change-{position}",
            commit=commit,
            created_at=0,
            updated_at=0,
            triggered_by=None if rng.random() < 0.7 else human[1],
            outcome=choose_outcome(rng, target),
            drift_detection=run_type == "PROPOSED" and rng.random() < 0.2,
            command=_pick(rng, TASK_COMMANDS) if run_type == "TASK" else None,
        )
        if run_type == "TASK":
            run.triggered_by = human[1]
        if run.drift_detection:
            run.triggered_by = "drift-detection"
        # Play the run forwards from t=0, then shift it so that it ends at `end`.
        run.record("QUEUED", 0)
        # Runs that waited for approval happened while autodeploy was off (or the stack locked).
        gated = target in ("UNCONFIRMED", "DISCARDED", "CONFIRMED", "PREPARING_APPLY")
        play(run, target, stack.autodeploy and not gated, rng, 0, human)
        shift = end - run.updated_at
        for transition in run.history:
            transition.timestamp += shift
        run.created_at = shift
        run.updated_at = end
        if run.state not in ("FINISHED", "FAILED") and rng.random() < 0.05:
            run.comments.append(RunComment("Looking into this.", end, human[1]))
        run.id = make_id(run.created_at, rng)
        runs.append(run)
        end = run.created_at - _int(rng, 600, 3 * 86400)
    runs.reverse()
    # Runs that queued up behind the current blocker.
    blocker = runs[-1]
    for extra in range(int(plan["queued"])):
        created = blocker.created_at + 1 + extra
        author = _pick(rng, HUMANS + BOTS)
        commit = _commit(rng, stack, created - 60, author)
        queued = Run(
            id=make_id(created, rng),
            stack_id=stack.id,
            type="TRACKED",
            state="QUEUED",
            title=commit.message,
            branch=stack.branch,
            commit=commit,
            created_at=created,
            updated_at=created,
            triggered_by=None,
            outcome=choose_outcome(rng, "FINISHED"),
        )
        queued.record("QUEUED", created)
        runs.append(queued)
    return runs
