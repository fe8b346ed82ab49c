// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";

/// @title EssentialContract
/// @notice Base of every upgradeable L1 contract: UUPS behind an ERC-1967 proxy, one owner (the
/// TimelockController in every deployment) that alone may upgrade or reconfigure.
abstract contract EssentialContract is Initializable, OwnableUpgradeable, UUPSUpgradeable {
    error ZeroAddress();
    error RenounceOwnershipDisabled();

    /// @dev The implementation itself can never be initialized; only proxies can.
    constructor() {
        _disableInitializers();
    }

    function __Essential_init(address owner_) internal onlyInitializing {
        if (owner_ == address(0)) revert ZeroAddress();
        __Ownable_init(owner_);
    }

    /// @dev An ownerless contract could never be upgraded or reconfigured again; not an option.
    function renounceOwnership() public pure override {
        revert RenounceOwnershipDisabled();
    }

    function _authorizeUpgrade(address) internal override onlyOwner {}
}
