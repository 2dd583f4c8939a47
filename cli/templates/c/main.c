/* scripts.{{name}}: built by `yaowasm build` (clang, wasm32, no libc) into
   {{out}}. */
#define YAO_IMPLEMENTATION
#include "yao.h"

/* Total(order) -> what the order costs after its coupon. */
static int32_t total(yao_reader *args, uint32_t argc, yao_writer *out) {
    yao_reader items, coupon, item, field;
    uint32_t n = 0;
    double sum = 0, off = 0, price, qty;
    if (argc < 1 || yao_map_find(args, "items", &items) != 1 || !yao_read_array(&items, &n) || n == 0)
        return yao_fail(out, 400, "an order needs items");
    for (uint32_t i = 0; i < n; i++) {
        item = items;
        if (yao_map_find(&item, "price", &field) != 1 || !yao_read_number(&field, &price) ||
            yao_map_find(&item, "qty", &field) != 1 || !yao_read_number(&field, &qty))
            return yao_failf(out, 400, "item %u needs a price and a qty", i + 1);
        sum += price * qty;
        yao_skip(&items);
    }
    if (yao_map_find(args, "coupon", &coupon) == 1 && !yao_read_number(&coupon, &off))
        return yao_fail(out, 400, "coupon must be a number");
    yao_write_float(out, sum - off > 0 ? sum - off : 0);
    return 0;
}
YAO_EXPORT(Total, total)
