"""/v1/org: build the organisation tree (admins), and read it as of a date (its members)."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from target_ledger.api import lists
from target_ledger.api.schemas import Input, NodeId, Struct
from target_ledger.application import Command, org
from target_ledger.application.reads import authorize_member
from target_ledger.domain.org import Organisation

UnitKind = Annotated[str, msgspec.Meta(pattern=r"^(company|department|region|team)$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
AsOf = Annotated[date | None, msgspec.Meta(description="the date the answer is for; today if left out")]


class CreateUnit(Input):
    node: NodeId
    kind: UnitKind
    name: Name
    parent: NodeId | None = None
    manager: NodeId | None = None


class AddPerson(Input):
    person: NodeId
    name: Name
    unit: NodeId
    effective: date | None = None


class MovePerson(Input):
    to_unit: NodeId
    effective: date


class PersonLeaves(Input):
    effective: date


class AssignManager(Input):
    manager: NodeId | None  # null leaves the post vacant from `effective`
    effective: date


class OrgChanged(Struct):
    node: str
    position: int


class TreeNode(Struct):
    node: str
    kind: str
    name: str
    manager: str | None = None
    children: list["TreeNode"] = msgspec.field(default_factory=list)


class OrgTree(Struct):
    as_of: date
    root: TreeNode


class NodeView(Struct):
    node: str
    kind: str
    name: str
    as_of: date
    parent: str | None
    ancestors: list[str]
    children: list[str]
    subtree: list[str]
    manager: str | None
    managers_above: list[str]


async def _read(command: Command, as_of: date | None) -> tuple[Organisation, date]:
    """The tree is for every member of the organisation (and the roles): an outsider gets 403."""
    return await authorize_member(command), as_of or command.today()


class OrgController(Controller):
    path = "/v1/org"
    tags = ["org"]
    list_people, list_units = lists.list_people, lists.list_units

    @post("/units", status_code=201, summary="Create a unit: the company first, then units under it")
    async def create_unit(self, data: JSONBody[CreateUnit], command: NamedDependency[Command]) -> Response[OrgChanged]:
        position = await org.create_unit(
            command, node=data.node, kind=data.kind, name=data.name, parent=data.parent, manager=data.manager
        )
        body = OrgChanged(node=data.node, position=position)
        return Response(body, status_code=201, headers={"Location": f"/v1/org/nodes/{data.node}"})

    @post("/people", status_code=201, summary="A person joins a unit (from today unless `effective`)")
    async def add_person(self, data: JSONBody[AddPerson], command: NamedDependency[Command]) -> Response[OrgChanged]:
        position = await org.add_person(
            command, person=data.person, name=data.name, unit=data.unit, effective=data.effective
        )
        body = OrgChanged(node=data.person, position=position)
        return Response(body, status_code=201, headers={"Location": f"/v1/org/nodes/{data.person}"})

    @post("/people/{person:str}/move", status_code=200, summary="A person moves to another unit")
    async def move_person(
        self, person: FromPath[NodeId], data: JSONBody[MovePerson], command: NamedDependency[Command]
    ) -> OrgChanged:
        position = await org.move_person(command, person=person, to_unit=data.to_unit, effective=data.effective)
        return OrgChanged(node=person, position=position)

    @post("/people/{person:str}/leave", status_code=200, summary="A person leaves the organisation")
    async def person_left(
        self, person: FromPath[NodeId], data: JSONBody[PersonLeaves], command: NamedDependency[Command]
    ) -> OrgChanged:
        position = await org.person_left(command, person=person, effective=data.effective)
        return OrgChanged(node=person, position=position)

    @post("/units/{unit:str}/manager", status_code=200, summary="Assign a unit's manager from a date")
    async def assign_manager(
        self, unit: FromPath[NodeId], data: JSONBody[AssignManager], command: NamedDependency[Command]
    ) -> OrgChanged:
        position = await org.assign_manager(command, unit=unit, manager=data.manager, effective=data.effective)
        return OrgChanged(node=unit, position=position)

    @get("/tree", summary="The whole tree as of a date")
    async def tree(self, command: NamedDependency[Command], as_of: FromQuery[AsOf] = None) -> OrgTree:
        current, on = await _read(command, as_of)
        return OrgTree(as_of=on, root=msgspec.convert(current.tree(on), TreeNode))

    @get("/nodes/{node:str}", summary="One node as of a date: where it sits, what is below, who manages")
    async def node(
        self,
        command: NamedDependency[Command],
        node: FromPath[NodeId],
        as_of: FromQuery[AsOf] = None,
    ) -> NodeView:
        current, on = await _read(command, as_of)
        return NodeView(
            node=node,
            kind=current.kind(node),
            name=current.name(node),
            as_of=on,
            parent=current.parent(node, on),
            ancestors=current.ancestors(node, on),
            children=current.children(node, on),
            subtree=current.subtree(node, on),
            manager=current.manager_of(node, on) if current.is_unit(node) else None,
            managers_above=current.managers_above(node, on),
        )
