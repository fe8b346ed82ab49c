// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "../base/Test.sol";
import {LibPublicInput} from "../../src/layer1/libs/LibPublicInput.sol";

/// @notice The Solidity side of the vectors the TypeScript `publicInputHash` is checked against.
contract PublicInputTest is Test {
    function test_domainMatchesVectors() public view {
        string memory json = vm.readFile("test/vectors/public-input.json");
        assertEq(LibPublicInput.PUBLIC_INPUT_DOMAIN, vm.parseJsonBytes32(json, ".domain"), "domain");
    }

    function test_hashMatchesEveryVector() public view {
        string memory json = vm.readFile("test/vectors/public-input.json");
        for (uint256 i; i < 3; ++i) {
            string memory at = string.concat(".vectors[", vm.toString(i), "]");
            bytes32 got = LibPublicInput.hash(
                uint64(vm.parseJsonUint(json, string.concat(at, ".chainId"))),
                vm.parseJsonBytes32(json, string.concat(at, ".batchMetaHash")),
                vm.parseJsonBytes32(json, string.concat(at, ".parentHash")),
                vm.parseJsonBytes32(json, string.concat(at, ".blockHash")),
                vm.parseJsonBytes32(json, string.concat(at, ".stateRoot")),
                vm.parseJsonAddress(json, string.concat(at, ".prover"))
            );
            assertEq(got, vm.parseJsonBytes32(json, string.concat(at, ".expected")), "vector");
        }
    }

    function test_aggregateOfOneIsTheHashItself() public pure {
        bytes32[] memory one = new bytes32[](1);
        one[0] = keccak256("x");
        assertEq(LibPublicInput.aggregate(one), one[0], "single");
        bytes32[] memory two = new bytes32[](2);
        two[0] = keccak256("x");
        two[1] = keccak256("y");
        assertEq(LibPublicInput.aggregate(two), keccak256(abi.encodePacked(two[0], two[1])), "packed");
    }
}
