"""Builds the package with its gRPC stubs generated from the repository's proto files.

The stubs (`interarec/v1/*_pb2*.py`) are written by grpcio-tools when the package is built, from
`../../proto` (or `$INTERAREC_PROTO_DIR`), so the Python client always speaks the proto it is
built beside and nothing generated is committed.
"""

import os
import pathlib

from setuptools import setup

HERE = pathlib.Path(__file__).resolve().parent


def generate_stubs() -> None:
    from grpc_tools import protoc  # a build requirement (pyproject.toml)
    import grpc_tools

    proto_dir = pathlib.Path(os.environ.get("INTERAREC_PROTO_DIR", HERE / ".." / ".." / "proto")).resolve()
    sources = sorted(proto_dir.glob("interarec/v1/*.proto"))
    if not sources:
        raise SystemExit(
            f"no interarec/v1/*.proto under {proto_dir}: build the client from an InteraRec checkout "
            "or point INTERAREC_PROTO_DIR at its proto directory"
        )
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    arguments = [
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"-I{well_known}",
        f"--python_out={HERE}",
        f"--pyi_out={HERE}",
        f"--grpc_python_out={HERE}",
        *[str(source) for source in sources],
    ]
    if protoc.main(arguments) != 0:
        raise SystemExit(f"grpc_tools.protoc failed on {proto_dir}")
    (HERE / "interarec" / "v1" / "__init__.py").write_text('"""Generated from proto/interarec/v1 at build time."""\n')


# Every build step (metadata, wheel, editable) needs the stubs' package to exist.
generate_stubs()
setup(packages=["interarec", "interarec.v1"])
