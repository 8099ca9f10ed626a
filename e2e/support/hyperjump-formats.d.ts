// @hyperjump/json-schema/formats registers the format validators when imported, and ships no types.
declare module '@hyperjump/json-schema/formats';
