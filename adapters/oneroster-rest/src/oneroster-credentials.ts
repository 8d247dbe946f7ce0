import type { OAuth1SignatureMethod } from './oauth1-signature';

/** ClassLink direct access and most OneRoster 1.1 servers: two-legged OAuth 1.0a, signed per request. */
export interface OneRosterOAuth1Credentials {
  kind: 'oauth1';
  consumerKey: string;
  /** A secret: never logged, never part of an error. */
  consumerSecret: string;
  /** Default `HMAC-SHA256` (ClassLink's); `HMAC-SHA1` for older servers. */
  signatureMethod?: OAuth1SignatureMethod;
}

/** ClassLink's OneRoster proxy: a bearer token that does not expire. */
export interface OneRosterBearerCredentials {
  kind: 'bearer';
  /** A secret: never logged, never part of an error. */
  token: string;
}

/** OAuth 2.0 client credentials (other 1.1 servers, and 1.2): a token fetched from `tokenUrl`, cached and renewed before it expires. */
export interface OneRosterOAuth2Credentials {
  kind: 'oauth2';
  tokenUrl: string;
  clientId: string;
  /** A secret: never logged, never part of an error. */
  clientSecret: string;
  /** Default `https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly`; an empty string sends no scope. */
  scope?: string;
}

/** How the client authenticates to a OneRoster server. */
export type OneRosterCredentials = OneRosterOAuth1Credentials | OneRosterBearerCredentials | OneRosterOAuth2Credentials;

/** The OneRoster 1.1 read-only rostering scope. */
export const ONEROSTER_ROSTER_READONLY_SCOPE = 'https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly';

/** The secrets inside `credentials`, for redaction. */
export function secretsOf(credentials: OneRosterCredentials): string[] {
  switch (credentials.kind) {
    case 'oauth1':
      return [credentials.consumerSecret];
    case 'bearer':
      return [credentials.token];
    case 'oauth2':
      return [credentials.clientSecret, Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')];
  }
}
