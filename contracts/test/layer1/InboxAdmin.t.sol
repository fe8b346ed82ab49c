// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SuiteFixture} from "../base/SuiteFixture.sol";
import {IInbox} from "../../src/layer1/iface/IInbox.sol";
import {Inbox} from "../../src/layer1/impl/Inbox.sol";
import {CairnProxy} from "../../src/shared/CairnProxy.sol";
import {EssentialContract} from "../../src/shared/EssentialContract.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

contract InboxAdminTest is SuiteFixture {
    function test_adminFunctionsAreOwnerOnly() public {
        bytes memory unauthorized =
            abi.encodeWithSelector(OwnableUpgradeable.OwnableUnauthorizedAccount.selector, stranger);
        IInbox.Config memory config = defaultConfig();
        address next = address(new Inbox());
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        inbox.setConfig(config);
        vm.expectRevert(unauthorized);
        inbox.setVerifier(stranger);
        vm.expectRevert(unauthorized);
        inbox.upgradeToAndCall(next, "");
        vm.expectRevert(unauthorized);
        inbox.transferOwnership(stranger);
        vm.stopPrank();
    }

    function test_configCannotChangeChainIdOrRingSize() public {
        IInbox.Config memory config = defaultConfig();
        config.l2ChainId = 1;
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "l2ChainId"));
        inbox.setConfig(config);
        config = defaultConfig();
        config.ringBufferSize = 16;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "ringBufferSize"));
        inbox.setConfig(config);
        vm.stopPrank();
    }

    function test_configRejectsZeroLimitsAndUnreachableAnchorWindow() public {
        vm.startPrank(owner);
        IInbox.Config memory config = defaultConfig();
        config.maxBlocksPerBatch = 0;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "maxBlocksPerBatch"));
        inbox.setConfig(config);
        config = defaultConfig();
        config.maxBlobsPerBatch = 0;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "maxBlobsPerBatch"));
        inbox.setConfig(config);
        config = defaultConfig();
        config.anchorWindow = 257;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "anchorWindow"));
        inbox.setConfig(config);
        config = defaultConfig();
        config.maxBatchesToVerify = 0;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "maxBatchesToVerify"));
        inbox.setConfig(config);
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        inbox.setVerifier(address(0));
        vm.stopPrank();
    }

    function test_initializeRejectsBadArguments() public {
        Inbox impl = new Inbox();
        IInbox.Config memory config = defaultConfig();
        config.l2ChainId = 0;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "l2ChainId"));
        new CairnProxy(address(impl), _init(config, GENESIS_HASH));
        config = defaultConfig();
        config.ringBufferSize = 1;
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "ringBufferSize"));
        new CairnProxy(address(impl), _init(config, GENESIS_HASH));
        vm.expectRevert(abi.encodeWithSelector(IInbox.InvalidConfig.selector, "genesis"));
        new CairnProxy(address(impl), _init(defaultConfig(), bytes32(0)));
    }

    function test_initializeRejectsZeroOwnerAndZeroDependencies() public {
        Inbox impl = new Inbox();
        IInbox.Config memory config = defaultConfig();
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        new CairnProxy(
            address(impl),
            abi.encodeCall(
                Inbox.initialize,
                (address(0), config, address(whitelist), address(store), address(compose), GENESIS_HASH, GENESIS_ROOT)
            )
        );
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        new CairnProxy(
            address(impl),
            abi.encodeCall(
                Inbox.initialize, (owner, config, address(0), address(store), address(compose), GENESIS_HASH, GENESIS_ROOT)
            )
        );
        vm.expectRevert(EssentialContract.ZeroAddress.selector);
        new CairnProxy(
            address(impl),
            abi.encodeCall(
                Inbox.initialize, (owner, config, address(whitelist), address(store), address(0), GENESIS_HASH, GENESIS_ROOT)
            )
        );
    }

    function _init(IInbox.Config memory config, bytes32 genesisHash) internal view returns (bytes memory) {
        return abi.encodeCall(
            Inbox.initialize,
            (owner, config, address(whitelist), address(store), address(compose), genesisHash, GENESIS_ROOT)
        );
    }

    function test_proxiesCannotBeInitializedTwice() public {
        IInbox.Config memory config = defaultConfig();
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        inbox.initialize(stranger, config, address(whitelist), address(store), address(compose), GENESIS_HASH, GENESIS_ROOT);
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        store.initialize(stranger, 0, 0, 0, 0);
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        whitelist.initialize(stranger, 1, new address[](0));
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        compose.initialize(stranger);
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        tee.initialize(stranger, stranger, 1);
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        attestation.initialize(stranger, stranger);
    }

    function test_implementationsCannotBeInitialized() public {
        Inbox impl = new Inbox();
        IInbox.Config memory config = defaultConfig();
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        impl.initialize(stranger, config, address(whitelist), address(store), address(compose), GENESIS_HASH, GENESIS_ROOT);
    }
}
