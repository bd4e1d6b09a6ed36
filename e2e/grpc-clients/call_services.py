#!/usr/bin/env python3
"""Calls Mercato's gRPC services with a client that is not ours: Python's grpcio.

The request and response classes are built at run time from the FileDescriptorSet that `buf build`
writes for packages/contracts/proto, so no generated Python code is needed.

usage: call_services.py DESCRIPTORS CATALOG_ADDR INVENTORY_ADDR PRODUCT_ID SKU
Prints one JSON object per call.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def message_classes(path):
    with open(path, "rb") as handle:
        files = descriptor_pb2.FileDescriptorSet.FromString(handle.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    factory = message_factory.MessageFactory(pool)
    return lambda name: factory.GetPrototype(pool.FindMessageTypeByName(name))


def main():
    descriptors, catalog_addr, inventory_addr, product_id, sku = sys.argv[1:6]
    cls = message_classes(descriptors)

    with grpc.insecure_channel(catalog_addr) as channel:
        get_product = channel.unary_unary(
            "/mercato.catalog.v1.CatalogService/GetProduct",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=cls("mercato.catalog.v1.GetProductResponse").FromString,
        )
        response = get_product(cls("mercato.catalog.v1.GetProductRequest")(id=product_id), timeout=5)
        print(json.dumps({"call": "GetProduct", "response": json_format.MessageToDict(response)}))

        try:
            get_product(cls("mercato.catalog.v1.GetProductRequest")(id="prod_missing"), timeout=5)
        except grpc.RpcError as error:
            print(json.dumps({"call": "GetProduct", "status": error.code().name, "details": error.details()}))

    with grpc.insecure_channel(inventory_addr) as channel:
        stream_levels = channel.unary_stream(
            "/mercato.inventory.v1.InventoryService/StreamStockLevels",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=cls("mercato.inventory.v1.StreamStockLevelsResponse").FromString,
        )
        call = stream_levels(cls("mercato.inventory.v1.StreamStockLevelsRequest")(skus=[sku]), timeout=10)
        first = next(call)
        print(json.dumps({"call": "StreamStockLevels", "response": json_format.MessageToDict(first)}))
        call.cancel()


if __name__ == "__main__":
    main()
