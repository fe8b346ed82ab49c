// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @title CairnProxy
/// @notice The ERC-1967 proxy every upgradeable L1 contract sits behind (upgrade logic lives in
/// the UUPS implementation, guarded by its owner, the timelock).
contract CairnProxy is ERC1967Proxy {
    constructor(address implementation, bytes memory initData) payable ERC1967Proxy(implementation, initData) {}
}
