"""The kit's packages, beside the pyproject.toml that holds its metadata.

conformance_tests lives at the repository's root, beside the hub it tests; the interface's XSD files
(the repository's xsd/, never copied) ship as the data package ``conformance_tests.xsd``, so that the
kit installed alone validates files against them (conformance_tests.interface_xsd).
"""

from setuptools import find_packages, setup

ROOT = "../.."

setup(
    packages=find_packages(ROOT, include=["conformance_tests", "conformance_tests.*"]) + ["conformance_tests.xsd"],
    package_dir={"": ROOT, "conformance_tests.xsd": f"{ROOT}/xsd"},
    package_data={"conformance_tests": ["kit.ini", "profiles/*/templates/*", "profiles/*/wsdl/*",
                                        "profiles/*/stacks/*"],
                  "conformance_tests.xsd": ["*.xsd"]},
)
