/**
 * The typed results of decoding a static downstream line on `s/ds`: one interface per
 * operation template (510–532), the answer lines (106, 124, 601, 603) and their union.
 * Decoders and encoders live in downstream.ts; the column layouts in downstream-layouts.ts.
 */
import type { Row } from "./types.js";

export type RelayState = "OPEN" | "CLOSED";
export type SoftwareAction = "install" | "delete";
export type CommunicationMode = "SMS" | "IP";

/** Item of the complete desired software list (516). */
export interface SoftwareListItem {
  readonly name: string;
  readonly version: string;
  readonly url: string;
}

/** Software change without a type (528 legacy software update, 527 device profile). */
export interface SoftwareChange {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly action: SoftwareAction;
}

/** Software change with a software type (529 advanced software update, 531 device profile); type may be empty. */
export interface TypedSoftwareChange {
  readonly name: string;
  readonly version: string;
  readonly softwareType: string;
  readonly url: string;
  readonly action: SoftwareAction;
}

export interface ProfileFirmware {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly isPatch: boolean;
  /** Version a patch applies to; empty when not a patch. */
  readonly dependency: string;
}

export interface ProfileConfiguration {
  readonly url: string;
  readonly type: string;
}

/** One `path, type, value` triple of 532 (`type` as sent, e.g. `b` for Boolean). */
export interface ParameterChange {
  readonly path: string;
  readonly type: string;
  readonly value: string;
}

export interface OperationBase<Id extends string, Fragment extends string> {
  readonly template: Id;
  readonly fragment: Fragment;
  /** External id (`c8y_Serial`) of the device or child that must execute the operation. */
  readonly deviceId: string;
}

export type RestartOperation = OperationBase<"510", "c8y_Restart">;
export interface CommandOperation extends OperationBase<"511", "c8y_Command"> {
  readonly text: string;
}
export interface ConfigurationOperation extends OperationBase<"513", "c8y_Configuration"> {
  readonly config: string;
}
export interface FirmwareOperation extends OperationBase<"515", "c8y_Firmware"> {
  readonly name: string;
  readonly version: string;
  /** May be `$PROVIDED`: the device resolves the binary itself. */
  readonly url: string;
  readonly isPatch: false;
}
export interface SoftwareListOperation extends OperationBase<"516", "c8y_SoftwareList"> {
  readonly software: readonly SoftwareListItem[];
}
export interface MeasurementRequestOperation extends OperationBase<"517", "c8y_MeasurementRequestOperation"> {
  readonly requestName: string;
}
export interface RelayOperation extends OperationBase<"518", "c8y_Relay"> {
  readonly relayState: RelayState;
}
export interface RelayArrayOperation extends OperationBase<"519", "c8y_RelayArray"> {
  readonly relayStates: readonly RelayState[];
}
/** Legacy configuration upload (no type). */
export type UploadConfigFileOperation = OperationBase<"520", "c8y_UploadConfigFile">;
/** Legacy configuration download (no type). */
export interface DownloadConfigFileOperation extends OperationBase<"521", "c8y_DownloadConfigFile"> {
  readonly url: string;
}
export interface LogfileRequestOperation extends OperationBase<"522", "c8y_LogfileRequest"> {
  readonly logFile: string;
  /** ISO 8601 as sent (offset may lack the colon). */
  readonly dateFrom: string;
  readonly dateTo: string;
  readonly searchText: string;
  readonly maximumLines: number;
}
export interface CommunicationModeOperation extends OperationBase<"523", "c8y_CommunicationMode"> {
  readonly mode: CommunicationMode;
}
export interface TypedDownloadConfigFileOperation extends OperationBase<"524", "c8y_DownloadConfigFile"> {
  readonly url: string;
  readonly type: string;
}
export interface FirmwarePatchOperation extends OperationBase<"525", "c8y_Firmware"> {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly dependency: string;
  readonly isPatch: true;
}
export interface TypedUploadConfigFileOperation extends OperationBase<"526", "c8y_UploadConfigFile"> {
  readonly type: string;
}
export interface DeviceProfileOperation extends OperationBase<"527", "c8y_DeviceProfile"> {
  readonly firmware?: ProfileFirmware;
  readonly software: readonly SoftwareChange[];
  readonly configuration: readonly ProfileConfiguration[];
}
export interface SoftwareUpdateOperation extends OperationBase<"528", "c8y_SoftwareUpdate"> {
  readonly software: readonly SoftwareChange[];
}
export interface TypedSoftwareUpdateOperation extends OperationBase<"529", "c8y_SoftwareUpdate"> {
  readonly software: readonly TypedSoftwareChange[];
}
export interface RemoteAccessConnectOperation extends OperationBase<"530", "c8y_RemoteAccessConnect"> {
  readonly hostname: string;
  readonly port: number;
  readonly connectionKey: string;
}
/** Sent *in addition to* 527 when the profile has typed software (spec §4.8). */
export interface TypedDeviceProfileOperation extends OperationBase<"531", "c8y_DeviceProfile"> {
  readonly firmware?: ProfileFirmware;
  readonly software: readonly TypedSoftwareChange[];
  readonly configuration: readonly ProfileConfiguration[];
}
export interface ParameterUpdateOperation extends OperationBase<"532", "c8y_ParameterUpdate"> {
  readonly parameters: readonly ParameterChange[];
}

/** One member per operation template (510–532; 512 and 514 do not exist). Discriminant: `template`. */
export type Operation =
  | RestartOperation
  | CommandOperation
  | ConfigurationOperation
  | FirmwareOperation
  | SoftwareListOperation
  | MeasurementRequestOperation
  | RelayOperation
  | RelayArrayOperation
  | UploadConfigFileOperation
  | DownloadConfigFileOperation
  | LogfileRequestOperation
  | CommunicationModeOperation
  | TypedDownloadConfigFileOperation
  | FirmwarePatchOperation
  | TypedUploadConfigFileOperation
  | DeviceProfileOperation
  | SoftwareUpdateOperation
  | TypedSoftwareUpdateOperation
  | RemoteAccessConnectOperation
  | TypedDeviceProfileOperation
  | ParameterUpdateOperation;

export type OperationTemplateId = Operation["template"];

// ---------------------------------------------------------------------------------------------
// Answer lines and the decoded result

export interface ChildListMessage {
  readonly kind: "child-list";
  readonly children: readonly string[];
}
export interface ManagedObjectIdMessage {
  readonly kind: "managed-object-id";
  readonly id: string;
}
export interface PlatformVersionMessage {
  readonly kind: "platform-version";
  readonly version: string;
}
export interface TemplateIdsMessage {
  readonly kind: "template-ids";
  readonly ids: readonly string[];
}

export type DownstreamMessage =
  | { readonly kind: "operation"; readonly operation: Operation }
  | ChildListMessage
  | ManagedObjectIdMessage
  | PlatformVersionMessage
  | TemplateIdsMessage
  /** Template id c8ylink does not know (e.g. 512, or a future template). */
  | { readonly kind: "unsupported"; readonly templateId: string; readonly raw: Row }
  /** Known template id, but the row does not fit it. */
  | {
      readonly kind: "malformed";
      readonly templateId: string;
      readonly raw: Row;
      readonly reason: string;
      /** Target device of a malformed operation row, when its second field is non-empty. */
      readonly deviceId?: string;
    };
