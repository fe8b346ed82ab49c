// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CairnTimelock
/// @notice Owner of every L1 contract. Deployed with no admin, so only the timelock itself
/// (through a delayed operation) can change its roles or delay.
contract CairnTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
